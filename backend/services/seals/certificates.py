"""Certificate bindings [证书绑定]: a company bound to its certificate(s) and signing algorithm
(SM2, RSA or dual), issued by the platform CA or imported from an external CA [多CA兼容]."""
from __future__ import annotations

import datetime as dt
from typing import Any

from tortoise.transactions import in_transaction

from backend import audit
from backend.errors import NotFound, ValidationFailed
from backend.ids import parse_uuid
from backend.models.seal import CertificateBinding
from backend.models.tenant import Tenant
from backend.pki import PlatformPKI
from sign.certs import CertificateError, import_pkcs12
from sign.certs.pem import dump_certificates

ALGORITHMS = ("sm2", "rsa", "dual")
EXPIRY_WARNING_DAYS = 30


class BindingNotFound(NotFound):
    code, message = "CERTIFICATE_BINDING_NOT_FOUND", "no certificate is bound to this company"


class CertificateImportFailed(ValidationFailed):
    code = "CERTIFICATE_IMPORT_FAILED"


async def bind_internal(tenant: Tenant, pki: PlatformPKI, *, company_name: str, uscc: str,
                        algorithm: str, operator) -> CertificateBinding:
    """Issue long-term company certificates from the platform CA and bind them (headquarters)."""
    operator.check_unit("hq")
    actor = operator.actor
    if algorithm not in ALGORITHMS:
        raise ValidationFailed(f"algorithm must be one of {', '.join(ALGORITHMS)}",
                               code="ALGORITHM_INVALID")
    issued = {alg: pki.issue_company_certificate(alg, company_name, uscc)
              for alg in (("sm2", "rsa") if algorithm == "dual" else (algorithm,))}
    return await _store(tenant, company_name, uscc, algorithm, issued, "internal", actor)


async def bind_imported_pkcs12(tenant: Tenant, pki: PlatformPKI, *, company_name: str, uscc: str,
                               pkcs12: bytes, password: str, operator) -> CertificateBinding:
    """Import a company's PKCS#12 from an external CA; its key goes into the key store."""
    operator.check_unit("hq")
    actor = operator.actor
    try:
        identity = import_pkcs12(pkcs12, password)
    except CertificateError as exc:
        raise CertificateImportFailed(str(exc)) from None
    alg = "sm2" if identity.alg == "sm2" else "rsa"
    key_id = pki.keystore.import_key(identity.key, f"imported {company_name}")
    entry = {"key_id": key_id, "cert_pem": identity.cert_pem.decode(),
             "chain_pem": dump_certificates(identity.chain).decode(),
             "not_after": identity.cert.not_valid_after}
    return await _store(tenant, company_name, uscc, alg, {alg: entry}, "imported", actor)


async def _store(tenant: Tenant, company_name: str, uscc: str, algorithm: str,
                 issued: dict[str, dict[str, Any]], source: str, actor: str) -> CertificateBinding:
    async with in_transaction("default"):
        await CertificateBinding.filter(tenant_id=tenant.id, company_name=company_name,
                                        disabled_at=None).update(
            disabled_at=dt.datetime.now(dt.timezone.utc))
        binding = await CertificateBinding.create(
            tenant=tenant, company_name=company_name, uscc=uscc, algorithm=algorithm,
            source=source,
            sm2_key_id=issued.get("sm2", {}).get("key_id"),
            sm2_cert_pem=issued.get("sm2", {}).get("cert_pem"),
            rsa_key_id=issued.get("rsa", {}).get("key_id"),
            rsa_cert_pem=issued.get("rsa", {}).get("cert_pem"),
            chain_pem="".join(e["chain_pem"] for e in issued.values()),
            not_after=min(e["not_after"] for e in issued.values()))
        await audit.record("certificate.bind", f"binding:{binding.id}", actor=actor,
                           details={"company": company_name, "algorithm": algorithm,
                                    "source": source})
    return binding


async def binding_for(tenant: Tenant, company_name: str) -> CertificateBinding:
    """The active binding used automatically when this company signs."""
    binding = await CertificateBinding.filter(tenant_id=tenant.id, company_name=company_name,
                                              disabled_at=None).order_by("-created_at").first()
    if binding is None:
        raise BindingNotFound()
    return binding


async def get_binding(tenant: Tenant, binding_id: str) -> CertificateBinding:
    binding = await CertificateBinding.get_or_none(id=parse_uuid(binding_id, BindingNotFound),
                                                   tenant_id=tenant.id)
    if binding is None:
        raise BindingNotFound()
    return binding


def present_binding(binding: CertificateBinding, today: dt.datetime | None = None) -> dict[str, Any]:
    today = today or dt.datetime.now(dt.timezone.utc)
    days_left = (binding.not_after - today).days
    return {"id": str(binding.id), "company_name": binding.company_name, "uscc": binding.uscc,
            "algorithm": binding.algorithm, "source": binding.source,
            "not_after": binding.not_after.isoformat(), "days_left": days_left,
            "expiry_warning": days_left < EXPIRY_WARNING_DAYS,
            "active": binding.disabled_at is None,
            "sm2_certificate": binding.sm2_cert_pem, "rsa_certificate": binding.rsa_cert_pem}
