"""/api/v1/identity: person and enterprise checks, signing passwords, intent confirmation."""
from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from backend.api.bodies import StrictBody, parse_json
from backend.api.middleware import authenticated, client_ip
from backend.services import intent, persons, verify_enterprise
from backend.services.metering import billing_scope, check_quota
from backend.services.verify_person import verify_person

bp = Blueprint("identity", url_prefix="/api/v1/identity")


class VerifyPerson(StrictBody):
    name: str = Field(..., max_length=50)
    id_number: str = Field(..., max_length=32)
    mobile: str | None = Field(None, max_length=20, description="given: three-factor check")
    unit_ref: str = Field("", max_length=64, description="business unit billed for the check")
    business_line: str = Field("", max_length=64, description="business line billed")


class SigningPassword(StrictBody):
    password: str = Field(..., max_length=64)


class StartIntent(StrictBody):
    person_id: str
    method: Literal["sms", "password", "face"]
    document_hash: str = Field(..., description="hex SHA-256 of the document shown")
    purpose: str = Field("", max_length=200)


class ConfirmIntent(StrictBody):
    code: str | None = Field(None, max_length=12)
    password: str | None = Field(None, max_length=64)


class VerifyEnterprise(StrictBody):
    company_name: str = Field(..., min_length=2, max_length=200)
    uscc: str = Field(..., max_length=18)
    legal_rep_name: str = Field(..., max_length=50)
    unit_ref: str = Field("", max_length=64, description="business unit billed for the check")
    business_line: str = Field("", max_length=64, description="business line billed")


class LegalRepAuthorization(StrictBody):
    legal_rep_person_id: str
    operator_person_id: str
    method: Literal["sms", "face"]


def _body(request: Request, model):
    return parse_json(request.content_type, request.body, model)


@bp.post("/persons/verify")
@openapi.summary("Two-factor (name + ID) or three-factor (+ mobile) check; recorded as evidence")
@openapi.body({"application/json": VerifyPerson.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def person_verify(request: Request) -> HTTPResponse:
    body, runtime = _body(request, VerifyPerson), request.app.ctx.runtime
    await check_quota(request.ctx.tenant, f"identity.{'three' if body.mobile else 'two'}_factor")
    with billing_scope(body.unit_ref, body.business_line):
        return json(await verify_person(request.ctx.tenant, runtime, runtime.identity().identity,
                                        name=body.name, id_number=body.id_number,
                                        mobile=body.mobile))


@bp.get("/persons/<person_id:str>")
@openapi.summary("A person, numbers masked")
@openapi.secured("AppSignature")
@authenticated
async def person_read(request: Request, person_id: str) -> HTTPResponse:
    return json(persons.present_person(await persons.get_person(request.ctx.tenant, person_id)))


@bp.put("/persons/<person_id:str>/signing-password")
@openapi.summary("Set the person's signing password (stored as an scrypt hash)")
@openapi.body({"application/json": SigningPassword.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def person_password(request: Request, person_id: str) -> HTTPResponse:
    body = _body(request, SigningPassword)
    return json(await persons.set_signing_password(request.ctx.tenant, person_id, body.password))


@bp.post("/intents")
@openapi.summary("Start an intent confirmation (SMS code, signing password or face)")
@openapi.body({"application/json": StartIntent.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def intent_start(request: Request) -> HTTPResponse:
    body, runtime = _body(request, StartIntent), request.app.ctx.runtime
    face = runtime.identity().face if body.method == "face" else None
    started = await intent.start_intent(
        request.ctx.tenant, runtime, person_id=body.person_id, method=body.method,
        document_hash=body.document_hash, purpose=body.purpose, client_ip=client_ip(request),
        face=face)
    return json(started, status=201)


@bp.post("/intents/<intent_id:str>/confirm")
@openapi.summary("Answer an intent confirmation; wrong answers count toward a lockout")
@openapi.body({"application/json": ConfirmIntent.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def intent_confirm(request: Request, intent_id: str) -> HTTPResponse:
    body, runtime = _body(request, ConfirmIntent), request.app.ctx.runtime
    return json(await intent.confirm_intent(
        request.ctx.tenant, runtime, intent_id=intent_id, code=body.code, password=body.password,
        face=runtime.identity().face, client_ip=client_ip(request)))


@bp.post("/enterprises/verify")
@openapi.summary("Enterprise check: name + unified social credit code + legal representative")
@openapi.body({"application/json": VerifyEnterprise.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def enterprise_verify(request: Request) -> HTTPResponse:
    body, runtime = _body(request, VerifyEnterprise), request.app.ctx.runtime
    await check_quota(request.ctx.tenant, "identity.enterprise")
    with billing_scope(body.unit_ref, body.business_line):
        return json(await verify_enterprise.verify_enterprise(
            request.ctx.tenant, runtime.identity().enterprise, company_name=body.company_name,
            uscc=body.uscc, legal_rep_name=body.legal_rep_name))


@bp.post("/enterprises/<enterprise_id:str>/authorizations")
@openapi.summary("Ask the legal representative to authorise an operator (SMS or face)")
@openapi.body({"application/json": LegalRepAuthorization.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def enterprise_authorize(request: Request, enterprise_id: str) -> HTTPResponse:
    body = _body(request, LegalRepAuthorization)
    return json(await verify_enterprise.request_legal_rep_authorization(
        request.ctx.tenant, request.app.ctx.runtime, enterprise_id=enterprise_id,
        legal_rep_person_id=body.legal_rep_person_id, operator_person_id=body.operator_person_id,
        method=body.method, client_ip=client_ip(request)), status=201)
