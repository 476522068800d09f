"""Cryptographic primitives for the signing backend (pure library: no web, no ORM).

SM2/SM3/SM4 run on tongsuopy by default and on gmssl (pure Python) as a fallback; RSA and ECDSA
are thin helpers over ``cryptography``. See each module's docstring for formats and engines.
"""
from __future__ import annotations

from .ecdsa import (
    ecdsa_sign,
    ecdsa_sign_digest,
    ecdsa_verify,
    ecdsa_verify_digest,
    generate_ecdsa_key,
    load_ecdsa_private_key,
    load_ecdsa_public_key,
)
from .errors import CryptoError, DecryptionError, InvalidSignature
from .rsa import (
    generate_rsa_key,
    load_rsa_private_key,
    load_rsa_public_key,
    rsa_sign,
    rsa_sign_digest,
    rsa_verify,
    rsa_verify_digest,
)
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
    "generate_rsa_key", "load_rsa_private_key", "load_rsa_public_key",
    "rsa_sign", "rsa_sign_digest", "rsa_verify", "rsa_verify_digest",
    "generate_ecdsa_key", "load_ecdsa_private_key", "load_ecdsa_public_key",
    "ecdsa_sign", "ecdsa_sign_digest", "ecdsa_verify", "ecdsa_verify_digest",
]
