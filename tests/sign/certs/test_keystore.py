"""SoftKeyStore: SM4-GCM wrapped keys at rest, PKCS#11-like mechanisms, independent verification."""
from __future__ import annotations

import base64
import hashlib
import json
import secrets

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from sign.certs.ca import CertificateAuthority
from sign.certs.errors import KeyNotFound, KeyStoreError, UnsupportedMechanism, WrongKEK
from sign.certs.keystore import SoftKeyStore
from sign.certs.profiles import CASubject, CompanySubject
from sign.certs.validate import validate_chain
from tests.gmssl_check import cert_point, gmssl_verify, gmssl_verify_digest

KEK = bytes(range(16))
DATA = b"policy document bytes"


@pytest.fixture
def store(tmp_path):
    return SoftKeyStore(tmp_path / "keys", KEK)


def _pub(store, key_id):
    return serialization.load_der_public_key(store.public_key(key_id).dump())


def _gmssl_verify(spki, sig_der, data=None, digest=None):
    point = cert_point(spki)
    return gmssl_verify(point, sig_der, data) if digest is None else gmssl_verify_digest(point, sig_der, digest)


@pytest.mark.parametrize("alg", ["rsa2048", "ecdsa-p256"])
def test_rsa_ecdsa_mechanisms(store, alg):
    kid = store.generate_key(alg, label=f"{alg} key")
    pub = _pub(store, kid)
    digest = hashlib.sha256(DATA).digest()
    if alg == "rsa2048":
        pub.verify(store.sign(kid, DATA, "RSA_PKCS1_SHA256"), DATA, padding.PKCS1v15(), hashes.SHA256())
        pub.verify(store.sign(kid, digest, "RSA_PKCS1_PREHASHED_SHA256"), DATA, padding.PKCS1v15(),
                   hashes.SHA256())
        pss = padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.AUTO)
        pub.verify(store.sign(kid, DATA, "RSA_PSS_SHA256"), DATA, pss, hashes.SHA256())
        with pytest.raises(UnsupportedMechanism):
            store.sign(kid, DATA, "SM2_SM3")
    else:
        pub.verify(store.sign(kid, DATA, "ECDSA_SHA256"), DATA, ec.ECDSA(hashes.SHA256()))
        pub.verify(store.sign(kid, digest, "ECDSA_PREHASHED_SHA256"), digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    with pytest.raises(UnsupportedMechanism, match="32-byte"):
        store.sign(kid, b"short", "RSA_PKCS1_PREHASHED_SHA256" if alg == "rsa2048" else "ECDSA_PREHASHED_SHA256")


def test_sm2_mechanisms_verify_with_gmssl(store):
    kid = store.generate_key("sm2", label="sm2 key")
    spki = store.public_key(kid)
    assert _gmssl_verify(spki, store.sign(kid, DATA, "SM2_SM3"), data=DATA)
    e = bytes.fromhex(hashlib.sha256(b"any 32 bytes").hexdigest())
    assert _gmssl_verify(spki, store.sign(kid, e, "SM2_DIGEST"), digest=e)
    with pytest.raises(UnsupportedMechanism):
        store.sign(kid, DATA, "RSA_PKCS1_SHA256")
    with pytest.raises(UnsupportedMechanism, match="unknown"):
        store.sign(kid, DATA, "SM2_MD5")


def test_files_hold_only_wrapped_keys(tmp_path):
    from sign.crypto.sm2 import SM2PrivateKey

    store = SoftKeyStore(tmp_path, KEK)
    sm2_key, rsa_key = SM2PrivateKey.generate(), rsa.generate_private_key(65537, 2048)
    rsa_id = store.import_key(rsa_key, label="company")
    sm2_id = store.import_key(sm2_key, label="event")
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == sorted([f"{rsa_id}.json", f"{sm2_id}.json"])
    for kid in (rsa_id, sm2_id):
        path = tmp_path / f"{kid}.json"
        assert path.stat().st_mode & 0o077 == 0
        rec = json.loads(path.read_text())
        assert {"key_id", "alg", "label", "nonce", "wrapped"} <= set(rec)
        assert rec["key_id"] == kid and len(base64.b64decode(rec["nonce"])) == 12
    # the clear key must not be in any file, in any encoding
    secrets_ = [sm2_key.to_bytes(), rsa_key.private_numbers().d.to_bytes(256, "big")[:32]]
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    decoded = b"".join(base64.b64decode(v) for p in tmp_path.iterdir()
                       for k, v in json.loads(p.read_text()).items() if k in ("wrapped", "public_key"))
    for s in secrets_:
        assert s not in blob and s not in decoded and s.hex().encode() not in blob


def test_reopen_wrong_kek_and_tampering(tmp_path):
    store = SoftKeyStore(tmp_path, KEK)
    kid = store.generate_key("sm2", label="x")
    reopened = SoftKeyStore(tmp_path, KEK)
    assert _gmssl_verify(reopened.public_key(kid), reopened.sign(kid, DATA, "SM2_SM3"), data=DATA)
    with pytest.raises(WrongKEK, match="wrong KEK"):
        SoftKeyStore(tmp_path, secrets.token_bytes(16))
    with pytest.raises(KeyStoreError, match="16 bytes"):
        SoftKeyStore(tmp_path, b"short")
    # the key id is bound as AAD: a record copied under another id does not unwrap
    rec = json.loads((tmp_path / f"{kid}.json").read_text())
    other = "0" * 32
    rec["key_id"] = other
    (tmp_path / f"{other}.json").write_text(json.dumps(rec))
    with pytest.raises(WrongKEK):
        SoftKeyStore(tmp_path, KEK).sign(other, DATA, "SM2_SM3")


def test_cache_list_delete(tmp_path):
    store = SoftKeyStore(tmp_path, KEK)
    a = store.generate_key("ecdsa-p256", label="a")
    b = store.generate_key("rsa2048", label="b")
    assert {(k.key_id, k.alg, k.label) for k in store.list_keys()} == {(a, "ecdsa-p256", "a"), (b, "rsa2048", "b")}
    fresh = SoftKeyStore(tmp_path, KEK)
    fresh.sign(b, DATA, "RSA_PKCS1_SHA256")
    # once unwrapped the key is served from memory: tampering on disk no longer matters
    path = tmp_path / f"{b}.json"
    rec = json.loads(path.read_text())
    rec["wrapped"] = base64.b64encode(b"\x00" * 64).decode()
    path.write_text(json.dumps(rec))
    fresh.sign(b, DATA, "RSA_PKCS1_SHA256")
    fresh.delete_key(a)
    assert [k.key_id for k in fresh.list_keys()] == [b]
    with pytest.raises(KeyNotFound):
        fresh.sign(a, DATA, "ECDSA_SHA256")
    with pytest.raises(KeyNotFound):
        fresh.delete_key("../../etc/passwd")


def test_in_memory_store_and_import():
    store = SoftKeyStore(None, KEK)
    key = rsa.generate_private_key(65537, 2048)
    kid = store.import_key(key, label="imported")
    assert store.key_info(kid).alg == "rsa2048"
    assert store.public_key(kid).dump() == key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(KeyStoreError, match="unknown key algorithm"):
        store.generate_key("dsa1024")


@pytest.mark.parametrize("alg", ["rsa2048", "sm2"])
def test_ca_backed_by_key_store(alg):
    store = SoftKeyStore(None, KEK)
    root = CertificateAuthority.create_root(CASubject(f"HSM-style Root {alg}", "KS"),
                                            key=store.signer(store.generate_key(alg, "root")))
    issuing = root.create_subordinate(CASubject(f"HSM-style Issuing {alg}", "KS"),
                                      key=store.signer(store.generate_key(alg, "issuing")))
    leaf_id = store.generate_key(alg, "company")
    cert = issuing.issue(CompanySubject("KS Co"), store.public_key(leaf_id))
    assert validate_chain(cert, [issuing.cert], trust=[root.cert]).ok
    crl_ = issuing.crl()
    assert validate_chain(cert, [issuing.cert], trust=[root.cert], crls=[crl_]).ok
