"""Certificate profiles: subject specifications and the extensions of each certificate kind.

Kinds: root CA, issuing (sub) CA, long-term company certificate, short-lived per-event
certificate for an individual, and TSA certificate. The same profiles serve RSA and SM2
(GM/T 0015: SM2 SPKI, sm2-with-SM3 signature).
"""
from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from asn1crypto import x509

from sign.certs import oids  # noqa: F401
from sign.certs.errors import CertificateError


class Kind(str, enum.Enum):
    ROOT = "root"
    ISSUING_CA = "issuing_ca"
    COMPANY = "company"
    EVENT = "event"
    TSA = "tsa"


DEFAULT_VALIDITY: dict[Kind, timedelta] = {
    Kind.ROOT: timedelta(days=20 * 365),
    Kind.ISSUING_CA: timedelta(days=10 * 365),
    Kind.COMPANY: timedelta(days=2 * 365),
    Kind.EVENT: timedelta(hours=24),
    Kind.TSA: timedelta(days=5 * 365),
}

SIGNING_KEY_USAGE = frozenset({"digital_signature", "non_repudiation"})
CA_KEY_USAGE = frozenset({"key_cert_sign", "crl_sign", "digital_signature"})


@dataclass(frozen=True)
class CASubject:
    """Subject of a root or issuing CA."""

    common_name: str
    organization: str
    country: str = "CN"

    def name(self) -> x509.Name:
        return build_name(country_name=self.country, organization_name=self.organization,
                          common_name=self.common_name)


@dataclass(frozen=True)
class CompanySubject:
    """Long-term company certificate: O=company; unified social credit code optional (serialNumber)."""

    organization: str
    common_name: str | None = None
    credit_code: str | None = None
    organizational_unit: str | None = None
    province: str | None = None
    locality: str | None = None
    country: str = "CN"

    def name(self) -> x509.Name:
        return build_name(
            country_name=self.country, state_or_province_name=self.province,
            locality_name=self.locality, organization_name=self.organization,
            organizational_unit_name=self.organizational_unit,
            common_name=self.common_name or self.organization, serial_number=self.credit_code,
        )


@dataclass(frozen=True)
class EventSubject:
    """Per-event certificate of an individual: verified name plus a keyed hash of the ID number.

    Build it with :meth:`from_id_number` so the ID number itself never reaches the CA.
    """

    person_name: str
    id_hash: str
    organization: str | None = None
    event_id: str | None = None
    country: str = "CN"

    @classmethod
    def from_id_number(cls, name: str, id_number: str, hmac_key: bytes, *, id_type: str = "ID_CARD",
                       organization: str | None = None, event_id: str | None = None) -> "EventSubject":
        return cls(name, hash_id_number(id_number, hmac_key, id_type=id_type), organization, event_id)

    def name(self) -> x509.Name:
        return build_name(country_name=self.country, organization_name=self.organization,
                          organizational_unit_name=self.event_id, common_name=self.person_name,
                          serial_number=self.id_hash)


@dataclass(frozen=True)
class TSASubject:
    common_name: str
    organization: str
    country: str = "CN"

    def name(self) -> x509.Name:
        return build_name(country_name=self.country, organization_name=self.organization,
                          common_name=self.common_name)


Subject = CASubject | CompanySubject | EventSubject | TSASubject


def build_name(**attrs: str | None) -> x509.Name:
    """An X.509 Name from asn1crypto attribute names; ``None`` values are left out."""
    values = {k: v for k, v in attrs.items() if v}
    if not values:
        raise CertificateError("empty subject name")
    return x509.Name.build(values, use_printable=False)


def hmac_sm3(key: bytes, message: bytes) -> bytes:
    """HMAC (RFC 2104) with SM3, block size 64."""
    if not key:
        raise CertificateError("HMAC key must not be empty")
    return hmac.new(key, message, _SM3Hash).digest()


def hash_id_number(id_number: str, key: bytes, *, id_type: str = "ID_CARD") -> str:
    """Hex HMAC-SM3 of the normalised ID number; the value put in the subject's serialNumber."""
    normalised = id_number.strip().upper()
    if not normalised:
        raise CertificateError("empty ID number")
    return hmac_sm3(key, f"{id_type}:{normalised}".encode()).hex()


def _sm3(data: bytes) -> bytes:
    try:
        from sign.crypto.sm3 import sm3_digest
    except ImportError:  # sign.crypto not there yet: tongsuopy's SM3
        from tongsuopy.crypto import hashes as _h

        h = _h.Hash(_h.SM3())
        h.update(data)
        return h.finalize()
    return sm3_digest(data)


class _SM3Hash:
    """Minimal hashlib-style SM3 object for :func:`hmac.new` (buffers; inputs are small)."""

    digest_size = 32
    block_size = 64
    name = "sm3"

    def __init__(self, data: bytes = b"") -> None:
        self._buf = bytearray(data)

    def update(self, data: bytes) -> None:
        self._buf += data

    def copy(self) -> "_SM3Hash":
        return _SM3Hash(bytes(self._buf))

    def digest(self) -> bytes:
        return _sm3(bytes(self._buf))

    def hexdigest(self) -> str:
        return self.digest().hex()


def key_identifier(spki_der_public_key: bytes) -> bytes:
    """RFC 5280 method 1: SHA-1 of the subjectPublicKey bits."""
    return hashlib.sha1(spki_der_public_key).digest()


def ext(extn_id: str, value: object, critical: bool = False) -> x509.Extension:
    return x509.Extension({"extn_id": extn_id, "critical": critical, "extn_value": value})


def extensions_for(kind: Kind, *, ski: bytes, aki: bytes | None, crl_url: str | None,
                   path_length: int | None = None, policy_oid: str | None = None) -> list[x509.Extension]:
    """Extensions for a certificate of ``kind``."""
    is_ca = kind in (Kind.ROOT, Kind.ISSUING_CA)
    bc: dict[str, object] = {"ca": is_ca}
    if is_ca and path_length is not None:
        bc["path_len_constraint"] = path_length
    usage = CA_KEY_USAGE if is_ca else SIGNING_KEY_USAGE
    out = [
        ext("basic_constraints", bc, critical=True),
        ext("key_usage", set(usage), critical=True),
        ext("key_identifier", ski),
    ]
    if aki is not None:
        out.append(ext("authority_key_identifier", {"key_identifier": aki}))
    if kind is Kind.TSA:
        out.append(ext("extended_key_usage", ["time_stamping"], critical=True))
    if crl_url and kind is not Kind.ROOT:
        dp = {"distribution_point": {"full_name": [x509.GeneralName(name="uniform_resource_identifier",
                                                                      value=crl_url)]}}
        out.append(ext("crl_distribution_points", [dp]))
    if policy_oid:
        out.append(ext("certificate_policies", [{"policy_identifier": policy_oid}]))
    return out
