"""RSA (PKCS#1 v1.5, PSS) and ECDSA P-256 helpers over ``cryptography``."""
from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from sign.crypto.ecdsa import (
    ecdsa_private_key_to_pem,
    ecdsa_public_key_to_pem,
    ecdsa_sign,
    ecdsa_sign_digest,
    ecdsa_verify,
    ecdsa_verify_digest,
    generate_ecdsa_key,
    load_ecdsa_private_key,
    load_ecdsa_public_key,
)
from sign.crypto.rsa import (
    generate_rsa_key,
    load_rsa_private_key,
    load_rsa_public_key,
    rsa_private_key_to_pem,
    rsa_public_key_to_pem,
    rsa_sign,
    rsa_sign_digest,
    rsa_verify,
    rsa_verify_digest,
)
from sign.crypto.sm2 import SM2PrivateKey

HASHES = ["sha256", "sha384", "sha512"]


@pytest.fixture(scope="module")
def rsa_key():
    return generate_rsa_key(2048)


@pytest.fixture(scope="module")
def ec_key():
    return generate_ecdsa_key()


def test_rsa_key_sizes():
    assert generate_rsa_key(3072).key_size == 3072
    with pytest.raises(ValueError):
        generate_rsa_key(1024)


@pytest.mark.parametrize("hash_name", HASHES)
@pytest.mark.parametrize("pad", ["pkcs1v15", "pss"])
def test_rsa_sign_verify(rsa_key, hash_name, pad):
    pub = rsa_key.public_key()
    sig = rsa_sign(rsa_key, b"contract", hash_name, pad)
    assert rsa_verify(pub, sig, b"contract", hash_name, pad)
    assert not rsa_verify(pub, sig, b"contracT", hash_name, pad)
    digest = hashlib.new(hash_name, b"contract").digest()
    assert rsa_verify_digest(pub, sig, digest, hash_name, pad)
    assert rsa_verify(pub, rsa_sign_digest(rsa_key, digest, hash_name, pad), b"contract", hash_name, pad)


def test_rsa_pss_uses_digest_length_salt(rsa_key):
    """Independent check with cryptography directly: salt length = hLen, MGF1 with the same hash."""
    sig = rsa_sign(rsa_key, b"pss", "sha384", "pss")
    rsa_key.public_key().verify(
        sig, b"pss", padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48), hashes.SHA384()
    )
    assert rsa_verify(rsa_key.public_key(), sig, b"pss", "sha384", "pss", salt_length=48)
    assert not rsa_verify(rsa_key.public_key(), sig, b"pss", "sha384", "pss", salt_length=20)


def test_rsa_negatives(rsa_key):
    pub = rsa_key.public_key()
    other = generate_rsa_key(2048).public_key()
    sig = rsa_sign(rsa_key, b"x")
    assert not rsa_verify(other, sig, b"x")
    assert not rsa_verify(pub, sig, b"x", "sha384")
    assert not rsa_verify(pub, sig, b"x", padding_name="pss")
    assert not rsa_verify(pub, b"", b"x")
    assert not rsa_verify(pub, b"\x00" * 256, b"x")
    with pytest.raises(ValueError):
        rsa_sign(rsa_key, b"x", "md5")
    with pytest.raises(ValueError):
        rsa_sign(rsa_key, b"x", padding_name="oaep")
    with pytest.raises(ValueError):
        rsa_sign_digest(rsa_key, b"\x00" * 20)


@pytest.mark.parametrize("password", [None, b"pw", "口令"])
def test_rsa_pem_round_trip(rsa_key, password):
    pem = rsa_private_key_to_pem(rsa_key, password)
    back = load_rsa_private_key(pem, password)
    assert back.private_numbers() == rsa_key.private_numbers()
    assert load_rsa_public_key(rsa_public_key_to_pem(rsa_key.public_key())).public_numbers() == \
        rsa_key.public_key().public_numbers()


def test_rsa_pem_errors(rsa_key, ec_key):
    pem = rsa_private_key_to_pem(rsa_key, b"right")
    for bad_pw in (b"wrong", None):
        with pytest.raises(ValueError):
            load_rsa_private_key(pem, bad_pw)
    with pytest.raises(ValueError):
        load_rsa_private_key(ecdsa_private_key_to_pem(ec_key))
    with pytest.raises(ValueError):
        load_rsa_public_key(ecdsa_public_key_to_pem(ec_key.public_key()))
    with pytest.raises(ValueError):
        load_rsa_private_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")


@pytest.mark.parametrize("hash_name", HASHES)
def test_ecdsa_sign_verify(ec_key, hash_name):
    pub = ec_key.public_key()
    sig = ecdsa_sign(ec_key, b"doc", hash_name)
    assert sig[0] == 0x30
    assert ecdsa_verify(pub, sig, b"doc", hash_name)
    assert not ecdsa_verify(pub, sig, b"dog", hash_name)
    digest = hashlib.new(hash_name, b"doc").digest()
    assert ecdsa_verify_digest(pub, sig, digest, hash_name)
    assert ecdsa_verify(pub, ecdsa_sign_digest(ec_key, digest, hash_name), b"doc", hash_name)


def test_ecdsa_negatives(ec_key):
    pub = ec_key.public_key()
    sig = ecdsa_sign(ec_key, b"x")
    assert not ecdsa_verify(generate_ecdsa_key().public_key(), sig, b"x")
    for bad in (b"", b"\x30\x00", sig + b"\x00", b"\xff" * 70):
        assert not ecdsa_verify(pub, bad, b"x")
    with pytest.raises(ValueError):
        generate_ecdsa_key("P-192")
    with pytest.raises(ValueError):
        ecdsa_verify_digest(pub, sig, b"\x00" * 31)
    assert generate_ecdsa_key("P-384").curve.name == "secp384r1"


@pytest.mark.parametrize("password", [None, b"pw"])
def test_ecdsa_pem_round_trip(ec_key, password):
    back = load_ecdsa_private_key(ecdsa_private_key_to_pem(ec_key, password), password)
    assert back.private_numbers() == ec_key.private_numbers()
    assert load_ecdsa_public_key(ecdsa_public_key_to_pem(ec_key.public_key())).public_numbers() == \
        ec_key.public_key().public_numbers()


def test_loaders_reject_sm2_keys(rsa_key):
    sm2_pem = SM2PrivateKey.generate().to_pem()
    for loader in (load_rsa_private_key, load_ecdsa_private_key):
        with pytest.raises(ValueError):
            loader(sm2_pem)
    with pytest.raises(ValueError):
        load_ecdsa_private_key(rsa_private_key_to_pem(rsa_key))
