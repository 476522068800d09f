"""Cryptographic primitives for the signing backend (pure library: no web, no ORM).

SM2/SM3/SM4 run on tongsuopy by default and on gmssl (pure Python) as a fallback; RSA and ECDSA
are thin helpers over ``cryptography``. See each module's docstring for formats and engines.
"""
from __future__ import annotations

from .errors import CryptoError, DecryptionError, InvalidSignature
from .sm2 import (
    DEFAULT_UID,
    SM2_CURVE_OID,
    SM2PrivateKey,
    SM2PublicKey,
    load_private_key,
    load_public_key,
)
from .sm3 import SM3Hasher, hmac_sm3, sm3_digest, sm3_file, sm3_hexdigest
from .sm4 import (
    sm4_cbc_decrypt,
    sm4_cbc_encrypt,
    sm4_ecb_decrypt_block,
    sm4_ecb_encrypt_block,
    sm4_gcm_decrypt,
    sm4_gcm_encrypt,
)

__all__ = [
    "CryptoError", "DecryptionError", "InvalidSignature",
    "DEFAULT_UID", "SM2_CURVE_OID", "SM2PrivateKey", "SM2PublicKey", "load_private_key", "load_public_key",
    "SM3Hasher", "hmac_sm3", "sm3_digest", "sm3_file", "sm3_hexdigest",
    "sm4_cbc_decrypt", "sm4_cbc_encrypt", "sm4_ecb_decrypt_block", "sm4_ecb_encrypt_block",
    "sm4_gcm_decrypt", "sm4_gcm_encrypt",
]
