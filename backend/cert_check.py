"""Self-check of certificates and keys nearing expiry [证书到期自检].

Watched: the platform PKI (SM2 and RSA root and issuing CAs, the seal-making certificate), every
enabled company certificate binding (SM2 and/or RSA certificate), and any extra PEM files named by
``CERT_CHECK_FILES`` (e.g. the time-stamping authority's certificate or an upstream CA). Served as
``GET /healthz/certificates`` and as the ``esign_certificate_expiry_seconds`` gauges of /metrics.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import pathlib
from typing import Any

from asn1crypto import x509

from sign.certs.pem import load_certificates

log = logging.getLogger("esign.cert_check")


@dataclasses.dataclass(frozen=True)
class CertExpiry:
    kind: str  # platform_root | platform_issuing | seal_maker | company | file
    alg: str
    subject: str
    id: str
    not_after: dt.datetime

    def to_dict(self, now: dt.datetime, warning_days: int) -> dict[str, Any]:
        left = self.not_after - now
        status = "expired" if left.total_seconds() <= 0 else \
            "warning" if left <= dt.timedelta(days=warning_days) else "ok"
        return {"kind": self.kind, "alg": self.alg, "subject": self.subject, "id": self.id,
                "not_after": self.not_after.isoformat(), "days_left": left.days,
                "status": status}


def _alg(cert: x509.Certificate) -> str:
    algo = cert.public_key.algorithm
    if algo == "ec":
        curve = cert.public_key["algorithm"]["parameters"].chosen.native
        return "sm2" if curve in ("1.2.156.10197.1.301", "sm2p256v1", "sm2") else "ecdsa"
    return algo


def _subject(cert: x509.Certificate) -> str:
    names = cert.subject.native
    return str(names.get("common_name") or names.get("organization_name") or cert.subject.human_friendly)


def _entry(kind: str, cert: x509.Certificate, ident: str, alg: str | None = None) -> CertExpiry:
    return CertExpiry(kind, alg or _alg(cert), _subject(cert), ident, cert.not_valid_after)


def platform_certificates(pki) -> list[CertExpiry]:
    out = []
    for alg, root in zip(("sm2", "rsa"), pki.roots()):
        out.append(_entry("platform_root", root, f"platform:{alg}:root", alg))
        out.append(_entry("platform_issuing", pki.issuing_ca(alg).cert, f"platform:{alg}:issuing",
                          alg))
    out.append(_entry("seal_maker", pki.seal_maker().cert, "platform:seal_maker", "sm2"))
    return out


async def company_certificates() -> list[CertExpiry]:
    from backend.models.seal import CertificateBinding

    out = []
    for binding in await CertificateBinding.filter(disabled_at=None).order_by("created_at"):
        for alg, pem in (("sm2", binding.sm2_cert_pem), ("rsa", binding.rsa_cert_pem)):
            if not pem:
                continue
            try:
                cert = load_certificates(pem.encode())[0]
                not_after = cert.not_valid_after
            except Exception:  # noqa: BLE001 - a broken PEM still reports the binding's date
                not_after = binding.not_after
            out.append(CertExpiry("company", alg, binding.company_name,
                                  f"binding:{binding.id}:{alg}", not_after))
    return out


def file_certificates(paths: str) -> list[CertExpiry]:
    out = []
    for path in filter(None, (p.strip() for p in paths.split(","))):
        try:
            certs = load_certificates(pathlib.Path(path).read_bytes())
        except (OSError, ValueError) as exc:
            log.warning("CERT_CHECK_FILES: cannot read %s: %s", path, exc)
            continue
        out += [_entry("file", cert, f"file:{path}#{i}") for i, cert in enumerate(certs)]
    return out


async def certificate_expiries(runtime) -> list[CertExpiry]:
    certs = platform_certificates(runtime.pki())
    certs += await company_certificates()
    certs += file_certificates(runtime.settings.cert_check_files)
    return certs


async def certificate_report(runtime) -> dict[str, Any]:
    """Every watched certificate with its days left; ``status`` is the worst of them."""
    warning_days = runtime.settings.cert_expiry_warning_days
    now = dt.datetime.now(dt.timezone.utc)
    items = sorted((c.to_dict(now, warning_days) for c in await certificate_expiries(runtime)),
                   key=lambda c: c["not_after"])
    statuses = {c["status"] for c in items}
    status = "expired" if "expired" in statuses else "warning" if "warning" in statuses else "ok"
    return {"status": status, "warning_days": warning_days, "certificates": items}
