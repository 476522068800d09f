"""SM4: GB/T 32907 / GM/T 0002 vectors, RFC 8998 GCM vector, CBC against gmssl, negatives."""
from __future__ import annotations

import os

import pytest
from gmssl import sm4 as gsm4

from sign.crypto import _engine
from sign.crypto.errors import DecryptionError
from sign.crypto.sm4 import (
    sm4_cbc_decrypt,
    sm4_cbc_encrypt,
    sm4_ecb_decrypt_block,
    sm4_ecb_encrypt_block,
    sm4_gcm_decrypt,
    sm4_gcm_encrypt,
)

STD_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")
STD_CT = bytes.fromhex("681edf34d206965e86b3e94f536e4246")
STD_CT_1M = bytes.fromhex("595298c7c6fd271f0402f804c33d3f66")

# RFC 8998 Appendix A.1 (SM4-GCM).
GCM_KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
GCM_IV = bytes.fromhex("00001234567800000000ABCD")
GCM_AAD = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
GCM_PT = bytes.fromhex(
    "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
    "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
)
GCM_CT = bytes.fromhex(
    "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
    "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
)
GCM_TAG = bytes.fromhex("83DE3541E4C2B58177E065A9BF7B62EC")


def gmssl_cbc(key: bytes, iv: bytes, data: bytes, decrypt: bool = False) -> bytes:
    c = gsm4.CryptSM4()
    c.set_key(key, gsm4.SM4_DECRYPT if decrypt else gsm4.SM4_ENCRYPT)
    return c.crypt_cbc(iv, data)


def test_standard_block_vector(engine):
    assert sm4_ecb_encrypt_block(STD_KEY, STD_KEY, engine=engine) == STD_CT
    assert sm4_ecb_decrypt_block(STD_KEY, STD_CT, engine=engine) == STD_KEY


@pytest.mark.skipif(not _engine.TONGSUO_AVAILABLE, reason="1,000,000 iterations need the C engine")
def test_standard_million_iterations_vector():
    """GB/T 32907 A.2: encrypt the plaintext 1,000,000 times with the same key (~1.5 s)."""
    from tongsuopy.crypto.ciphers import Cipher, algorithms, modes

    assert sm4_ecb_encrypt_block(STD_KEY, STD_KEY, engine="tongsuo") == STD_CT
    update = Cipher(algorithms.SM4(STD_KEY), modes.ECB()).encryptor().update
    block = STD_KEY
    for _ in range(1_000_000):
        block = update(block)
    assert block == STD_CT_1M


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 100, 1024])
def test_cbc_matches_gmssl(engine, size):
    key, iv, data = os.urandom(16), os.urandom(16), os.urandom(size)
    ct = sm4_cbc_encrypt(key, iv, data, engine=engine)
    assert len(ct) == (size // 16 + 1) * 16
    assert ct == gmssl_cbc(key, iv, data)
    assert sm4_cbc_decrypt(key, iv, ct, engine=engine) == data
    assert gmssl_cbc(key, iv, ct, decrypt=True) == data


def test_cbc_decrypts_gmssl_output(engine):
    key, iv = os.urandom(16), os.urandom(16)
    ct = gmssl_cbc(key, iv, b"from gmssl, with padding")
    assert sm4_cbc_decrypt(key, iv, ct, engine=engine) == b"from gmssl, with padding"


def test_cbc_bad_padding_and_length(engine):
    key, iv = STD_KEY, bytes(16)
    raw_block = sm4_ecb_encrypt_block(key, b"\x00" * 15 + b"\x11", engine=engine)  # pad byte 0x11 > 16
    with pytest.raises(DecryptionError):
        sm4_cbc_decrypt(key, iv, raw_block, engine=engine)
    zero_pad = sm4_ecb_encrypt_block(key, b"\x00" * 16, engine=engine)  # pad byte 0
    with pytest.raises(DecryptionError):
        sm4_cbc_decrypt(key, iv, zero_pad, engine=engine)
    inconsistent = sm4_ecb_encrypt_block(key, b"\x00" * 13 + b"\x02\x01\x03", engine=engine)
    with pytest.raises(DecryptionError):
        sm4_cbc_decrypt(key, iv, inconsistent, engine=engine)
    for bad in (b"", b"\x00" * 15, b"\x00" * 33):
        with pytest.raises(DecryptionError):
            sm4_cbc_decrypt(key, iv, bad, engine=engine)


def test_cbc_wrong_key_fails(engine):
    ct = sm4_cbc_encrypt(STD_KEY, bytes(16), b"policy holder id 110101199003070000", engine=engine)
    with pytest.raises(DecryptionError):
        sm4_cbc_decrypt(bytes(16), bytes(16), ct, engine=engine)


@pytest.mark.parametrize("key,iv", [(b"short", bytes(16)), (bytes(16), b"short"), (bytes(32), bytes(16))])
def test_cbc_bad_key_or_iv_length(engine, key, iv):
    with pytest.raises(ValueError):
        sm4_cbc_encrypt(key, iv, b"x", engine=engine)


def test_gcm_rfc8998_vector(engine):
    out = sm4_gcm_encrypt(GCM_KEY, GCM_IV, GCM_PT, GCM_AAD, engine=engine)
    assert out == GCM_CT + GCM_TAG
    assert sm4_gcm_decrypt(GCM_KEY, GCM_IV, out, GCM_AAD, engine=engine) == GCM_PT


@pytest.mark.parametrize("size", [0, 1, 16, 33])
def test_gcm_engines_agree(size):
    key, nonce, data, aad = os.urandom(16), os.urandom(12), os.urandom(size), os.urandom(size % 20)
    outs = {e: sm4_gcm_encrypt(key, nonce, data, aad, engine=e) for e in _engine.available_engines()}
    assert len(set(outs.values())) == 1
    for e in _engine.available_engines():
        assert sm4_gcm_decrypt(key, nonce, next(iter(outs.values())), aad, engine=e) == data


def test_gcm_tampering_raises(engine):
    key, nonce = os.urandom(16), os.urandom(12)
    out = sm4_gcm_encrypt(key, nonce, b"id card number", b"tenant-1", engine=engine)
    cases = [
        (key, nonce, out[:-1] + bytes([out[-1] ^ 1]), b"tenant-1"),  # bad tag
        (key, nonce, bytes([out[0] ^ 1]) + out[1:], b"tenant-1"),  # bad ciphertext
        (key, nonce, out, b"tenant-2"),  # wrong AAD
        (key, os.urandom(12), out, b"tenant-1"),  # wrong nonce
        (os.urandom(16), nonce, out, b"tenant-1"),  # wrong key
        (key, nonce, out[:15], b"tenant-1"),  # shorter than a tag
    ]
    for k, n, data, aad in cases:
        with pytest.raises(DecryptionError):
            sm4_gcm_decrypt(k, n, data, aad, engine=engine)


def test_gcm_bad_nonce_length(engine):
    with pytest.raises(ValueError):
        sm4_gcm_encrypt(bytes(16), bytes(16), b"x", engine=engine)
