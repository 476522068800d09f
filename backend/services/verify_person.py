"""Two-factor (name + ID number) and three-factor (+ mobile, carrier database) checks."""
from __future__ import annotations

from typing import Any

from backend.models.tenant import Tenant
from backend.runtime import Runtime
from backend.services import identity_checks as checks
from backend.services.persons import present_person, upsert_person
from face_verify.api import IdentityProvider, ProviderError


async def verify_person(tenant: Tenant, runtime: Runtime, provider: IdentityProvider, *,
                        name: str, id_number: str, mobile: str | None) -> dict[str, Any]:
    person = await upsert_person(tenant, name, id_number, mobile, runtime.cipher)
    id_number = runtime.cipher.decrypt(person.id_number_enc, "person.id_number")
    kind = "three_factor" if mobile else "two_factor"
    digest = checks.request_digest(kind, person.name, id_number, mobile or "")
    cached = await checks.cached_check(runtime.cache, tenant, kind, digest)
    if cached:
        check = await checks.record_check(tenant, kind=kind, provider=cached["provider"],
                                          outcome="match", digest=digest, person=person,
                                          raw_code=cached["raw_code"], from_cache=True)
        return {"person": present_person(person), **checks.present_check(check)}
    try:
        if mobile:
            mobile_clear = runtime.cipher.decrypt(person.mobile_enc, "person.mobile")
            result = await provider.verify_three_factor(person.name, id_number, mobile_clear)
        else:
            result = await provider.verify_two_factor(person.name, id_number)
    except ProviderError as exc:
        await checks.record_check(tenant, kind=kind, provider=exc.provider or "unknown",
                                  outcome="error", digest=digest, person=person,
                                  raw_code=exc.raw_code or exc.code, message=exc.message,
                                  provider_request_id=exc.provider_request_id)
        raise
    check = await checks.record_check(
        tenant, kind=kind, provider=result.provider, outcome=result.outcome, digest=digest,
        person=person, provider_request_id=result.provider_request_id, raw_code=result.raw_code,
        message=result.message)
    if result.passed:
        await checks.remember_check(runtime.cache, tenant, kind, digest,
                                    {"provider": result.provider, "raw_code": result.raw_code},
                                    runtime.settings.identity_cache_seconds)
    return {"person": present_person(person), **checks.present_check(check)}
