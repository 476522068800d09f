"""Enterprise checks: name + unified social credit code + legal representative [企业认证],
and the legal representative's authorisation of an operator [法人授权]."""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from backend.errors import NotFound, ValidationFailed
from backend.ids import parse_uuid
from backend.models.identity import Enterprise
from backend.models.tenant import Tenant
from backend.services import identity_checks as checks
from backend.services import intent
from backend.services.persons import get_person
from backend.validation import validate_person_name, validate_uscc
from face_verify.api import EnterpriseProvider, ProviderError


class EnterpriseNotFound(NotFound):
    code, message = "ENTERPRISE_NOT_FOUND", "no such enterprise"


def present_enterprise(enterprise: Enterprise) -> dict[str, Any]:
    return {"id": str(enterprise.id), "name": enterprise.name, "uscc": enterprise.uscc,
            "legal_rep_name": enterprise.legal_rep_name,
            "verified_at": enterprise.verified_at.isoformat() if enterprise.verified_at else None}


async def verify_enterprise(tenant: Tenant, provider: EnterpriseProvider, *, company_name: str,
                            uscc: str, legal_rep_name: str) -> dict[str, Any]:
    uscc = validate_uscc(uscc)
    legal_rep_name = validate_person_name(legal_rep_name)
    company_name = company_name.strip()[:200]
    enterprise, _ = await Enterprise.get_or_create(
        tenant_id=tenant.id, uscc=uscc,
        defaults={"name": company_name, "legal_rep_name": legal_rep_name})
    enterprise.name, enterprise.legal_rep_name = company_name, legal_rep_name
    digest = checks.request_digest("enterprise", company_name, uscc, legal_rep_name)
    try:
        result = await provider.verify_enterprise(company_name, uscc, legal_rep_name)
    except ProviderError as exc:
        await checks.record_check(tenant, kind="enterprise", provider=exc.provider or "unknown",
                                  outcome="error", digest=digest, enterprise=enterprise,
                                  raw_code=exc.raw_code or exc.code, message=exc.message)
        raise
    enterprise.verified_at = dt.datetime.now(dt.timezone.utc) if result.passed else None
    await enterprise.save()
    check = await checks.record_check(
        tenant, kind="enterprise", provider=result.provider, outcome=result.outcome,
        digest=digest, enterprise=enterprise, provider_request_id=result.provider_request_id,
        raw_code=result.raw_code, message=result.message)
    return {"enterprise": present_enterprise(enterprise), **checks.present_check(check)}


def authorization_statement(enterprise: Enterprise, operator_name: str) -> str:
    return (f"本人作为{enterprise.name}（统一社会信用代码{enterprise.uscc}）的法定代表人，"
            f"授权{operator_name}代表本单位办理电子签署事宜。")


async def request_legal_rep_authorization(tenant: Tenant, runtime, *, enterprise_id: str,
                                          legal_rep_person_id: str, operator_person_id: str,
                                          method: str, client_ip: str = "") -> dict[str, Any]:
    """The legal representative confirms (SMS or face) that the operator may act for the company."""
    enterprise = await Enterprise.get_or_none(id=parse_uuid(enterprise_id, EnterpriseNotFound),
                                              tenant_id=tenant.id)
    if enterprise is None:
        raise EnterpriseNotFound()
    if enterprise.verified_at is None:
        raise EnterpriseNotFound("verify the enterprise before authorising operators")
    legal_rep = await get_person(tenant, legal_rep_person_id)
    if legal_rep.name != enterprise.legal_rep_name:
        raise ValidationFailed("this person is not the enterprise's legal representative",
                               code="LEGAL_REP_MISMATCH")
    operator = await get_person(tenant, operator_person_id)
    statement = authorization_statement(enterprise, operator.name)
    started = await intent.start_intent(
        tenant, runtime, person_id=legal_rep_person_id, method=method,
        document_hash=hashlib.sha256(statement.encode()).hexdigest(),
        purpose=f"legal_rep_auth:{enterprise.id}:{operator.id}", client_ip=client_ip,
        face=runtime.identity().face if method == "face" else None)
    return {**started, "statement": statement}
