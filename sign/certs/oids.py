"""Chinese commercial-cryptography OIDs, registered with asn1crypto's OID maps.

asn1crypto 1.5.1 knows none of them. Importing this module (every ``sign.certs`` module does)
registers them once; afterwards ``'sm2'``, ``'sm3'`` and ``'sm2_sm3'`` can be used as names.
"""
from __future__ import annotations

from asn1crypto import algos, core, keys

SM2_CURVE_OID = "1.2.156.10197.1.301"
SM2_SIGN_OID = "1.2.156.10197.1.301.1"  # "sm2-1" as used by GM/T 0010 SignerInfo
SM3_OID = "1.2.156.10197.1.401"
SM2_WITH_SM3_OID = "1.2.156.10197.1.501"

SM2_CURVE = "sm2"
SM3 = "sm3"
SM2_WITH_SM3 = "sm2_sm3"
SM2_SIGN = "sm2_sign"


def _register(cls: type[core.ObjectIdentifier], oid: str, name: str) -> None:
    cls._map[oid] = name
    if cls._reverse_map is not None:
        cls._reverse_map[name] = oid


def register() -> None:
    """Idempotently register the SM2/SM3 OIDs with asn1crypto."""
    if SM2_CURVE_OID not in keys.NamedCurve._map:
        keys.NamedCurve.register(SM2_CURVE, SM2_CURVE_OID, 32)
    _register(algos.SignedDigestAlgorithmId, SM2_WITH_SM3_OID, SM2_WITH_SM3)
    _register(algos.SignedDigestAlgorithmId, SM2_SIGN_OID, SM2_SIGN)
    _register(algos.DigestAlgorithmId, SM3_OID, SM3)


def is_sm2_signature(algorithm: algos.SignedDigestAlgorithm) -> bool:
    return algorithm["algorithm"].dotted in (SM2_WITH_SM3_OID, SM2_SIGN_OID)


def is_sm2_public_key(spki: keys.PublicKeyInfo) -> bool:
    alg = spki["algorithm"]
    if alg["algorithm"].dotted == SM2_CURVE_OID:
        return True
    if alg["algorithm"].native != "ec":
        return False
    params = alg["parameters"]
    return params.name == "named" and params.chosen.dotted == SM2_CURVE_OID


register()
