"""/api/v1/seals, /api/v1/seal-grants, /api/v1/risk-alerts [印章管控].

Mutations name the acting person in ``X-Operator`` (the business system vouches for it); it is
recorded with every transition in the tamper-evident log.
"""
from __future__ import annotations

import base64
import datetime as dt
from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json, raw
from sanic_ext import openapi

from backend.api.bodies import StrictBody, parse_json, query_int
from backend.api.idempotent import respond_idempotent
from backend.api.middleware import authenticated, client_ip
from backend.errors import ValidationFailed
from backend.models.seal import CertificateBinding, RiskAlert, SealGrant, SealUse
from backend.services.seals import (certificates, devices, grants, lifecycle, make, risk,
                                   seal_document)
from backend.services.seals.operators import SealOperator, seal_operator
from backend.services.seals.use import UseRequest, use_seal

bp = Blueprint("seals", url_prefix="/api/v1")


class OperatorRequired(ValidationFailed):
    code, message = "OPERATOR_REQUIRED", "X-Operator header (the acting user) is required"


async def operator(request: Request) -> SealOperator:
    """The acting security administrator (``X-Operator``), checked against the organisation."""
    value = request.headers.get("X-Operator", "").strip()
    if not (1 <= len(value) <= 100):
        raise OperatorRequired()
    return await seal_operator(request.ctx.tenant, value,
                               enforce=request.app.ctx.settings.seal_admin_check)


class MakeSeal(StrictBody):
    kind: Literal["official", "contract", "finance", "legal_rep", "personal"]
    name: str = Field(..., min_length=1, max_length=60, description="company or person name")
    sub_text: str = Field("", max_length=20, description="horizontal text, e.g. 合同专用章")
    code: str = Field("", max_length=20, description="anti-counterfeit code on the lower arc")
    image_base64: str | None = Field(None, description="uploaded photo/scan (PNG/JPEG), base64")
    unit: str = Field("hq", max_length=64)
    valid_days: int = Field(3 * 365, ge=1, le=20 * 365)


class Transition(StrictBody):
    action: Literal["approve", "suspend", "resume", "revoke"]
    reason: str = Field(..., max_length=300)


class ChangeSeal(StrictBody):
    reason: str = Field(..., max_length=300)
    name: str | None = Field(None, max_length=60)
    sub_text: str | None = Field(None, max_length=20)
    image_base64: str | None = None


class Grant(StrictBody):
    grantee_type: Literal["user", "role", "unit"]
    grantee_ref: str = Field(..., min_length=1, max_length=64)
    valid_from: dt.datetime
    valid_until: dt.datetime
    document_types: list[str] = Field(default_factory=list, max_length=50)
    flows: list[str] = Field(default_factory=list, max_length=50)
    max_uses: int | None = Field(None, ge=1)
    reason: str = Field(..., max_length=300)

    model_config = {**StrictBody.model_config, "strict": False}


class Revoke(StrictBody):
    reason: str = Field(..., max_length=300)


class Use(StrictBody):
    user_ref: str = Field(..., min_length=1, max_length=64)
    document_ref: str = Field(..., min_length=1, max_length=64)
    document_type: str = Field("", max_length=32)
    flow: str = Field("", max_length=32)
    roles: list[str] = Field(default_factory=list, max_length=20)
    unit_ref: str = Field("", max_length=64)
    device: str = Field("", max_length=200)
    region: str = Field("", max_length=64)


def _use_request(request: Request, body: "Use") -> UseRequest:
    return UseRequest(user_ref=body.user_ref, document_ref=body.document_ref,
                      document_type=body.document_type, flow=body.flow, roles=tuple(body.roles),
                      unit_ref=body.unit_ref, ip=client_ip(request), device=body.device,
                      region=body.region)


class HandleAlert(StrictBody):
    action: Literal["acknowledge", "resolve"]
    note: str = Field(..., max_length=500)


def _upload(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise ValidationFailed("image_base64 is not base64", code="IMAGE_BASE64_INVALID") from None


@bp.post("/seals")
@openapi.summary("Make a seal from text or an uploaded image (pending until approved)")
@openapi.body({"application/json": MakeSeal.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def seal_make(request: Request) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, MakeSeal)
    op = await operator(request)
    runtime, tenant = request.app.ctx.runtime, request.ctx.tenant

    async def action() -> tuple[int, dict]:
        seal = await make.make_seal(
            tenant, runtime, kind=body.kind, name=body.name, sub_text=body.sub_text,
            code=body.code, upload=_upload(body.image_base64), unit_ref=body.unit,
            valid_days=body.valid_days, operator=op)
        return 201, lifecycle.present_seal(seal)

    return await respond_idempotent(request, action)


@bp.get("/seals/<seal_id:str>")
@openapi.summary("A seal")
@openapi.secured("AppSignature")
@authenticated
async def seal_read(request: Request, seal_id: str) -> HTTPResponse:
    return json(lifecycle.present_seal(await lifecycle.get_seal(request.ctx.tenant, seal_id)))


@bp.get("/seals/<seal_id:str>/image")
@openapi.summary("The seal picture (PNG); ?style=black for the desensitised version")
@openapi.secured("AppSignature")
@authenticated
async def seal_image(request: Request, seal_id: str) -> HTTPResponse:
    seal = await lifecycle.get_seal(request.ctx.tenant, seal_id)
    png = seal.black_png if request.args.get("style") == "black" else seal.image_png
    return raw(png, content_type="image/png")


@bp.get("/seals/<seal_id:str>/seseal")
@openapi.summary("The GB/T 38540 SESeal structure (DER)")
@openapi.secured("AppSignature")
@authenticated
async def seal_seseal(request: Request, seal_id: str) -> HTTPResponse:
    seal = await lifecycle.get_seal(request.ctx.tenant, seal_id)
    return raw(seal.seseal_der, content_type="application/octet-stream")


@bp.post("/seals/<seal_id:str>/transitions")
@openapi.summary("Approve, suspend, resume or revoke a seal (with a reason)")
@openapi.body({"application/json": Transition.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def seal_transition(request: Request, seal_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, Transition)
    op = await operator(request)
    seal = await lifecycle.transition(request.ctx.tenant, seal_id, body.action, operator=op,
                                      reason=body.reason)
    return json(lifecycle.present_seal(seal))


@bp.post("/seals/<seal_id:str>/versions")
@openapi.summary("Change a seal: a new version (the old one is kept)")
@openapi.body({"application/json": ChangeSeal.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def seal_change(request: Request, seal_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, ChangeSeal)
    op = await operator(request)
    seal = await make.change_seal(request.ctx.tenant, request.app.ctx.runtime, seal_id,
                                  name=body.name, sub_text=body.sub_text,
                                  upload=_upload(body.image_base64), operator=op,
                                  reason=body.reason)
    return json(lifecycle.present_seal(seal), status=201)


@bp.post("/seals/<seal_id:str>/uses")
@openapi.summary("Use a seal: checks the grant at this moment, logs the use, runs risk rules")
@openapi.body({"application/json": Use.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def seal_use(request: Request, seal_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, Use)
    request_ = _use_request(request, body)
    runtime = request.app.ctx.runtime
    _, use = await use_seal(request.ctx.tenant, seal_id, request_, runtime=runtime,
                            risk_settings=runtime.settings.risk_settings())
    return json({"use_id": use.id, "result": use.result, "grant_id": str(use.grant_id)}, status=201)


@bp.post("/seals/<seal_id:str>/grants")
@openapi.summary("Grant use of a seal to a user, role or unit")
@openapi.body({"application/json": Grant.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def grant_create(request: Request, seal_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, Grant)
    op = await operator(request)
    grant = await grants.grant_seal(
        request.ctx.tenant, seal_id, grantee_type=body.grantee_type, grantee_ref=body.grantee_ref,
        valid_from=body.valid_from, valid_until=body.valid_until,
        document_types=body.document_types, flows=body.flows, max_uses=body.max_uses,
        operator=op, reason=body.reason)
    return json(grants.present_grant(grant), status=201)


@bp.get("/seals/<seal_id:str>/grants")
@openapi.summary("A seal's grants")
@openapi.secured("AppSignature")
@authenticated
async def grant_list(request: Request, seal_id: str) -> HTTPResponse:
    seal = await lifecycle.get_seal(request.ctx.tenant, seal_id)
    rows = await SealGrant.filter(seal_id=seal.id).order_by("created_at")
    return json({"items": [grants.present_grant(g) for g in rows]})


@bp.post("/seal-grants/<grant_id:str>/revoke")
@openapi.summary("Revoke a grant at once")
@openapi.body({"application/json": Revoke.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def grant_revoke(request: Request, grant_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, Revoke)
    op = await operator(request)
    grant = await grants.revoke_grant(request.ctx.tenant, grant_id, operator=op,
                                      reason=body.reason)
    return json(grants.present_grant(grant))


@bp.get("/risk-alerts")
@openapi.summary("Risk alerts (?status=open|acknowledged|resolved)")
@openapi.secured("AppSignature")
@authenticated
async def alert_list(request: Request) -> HTTPResponse:
    query = RiskAlert.filter(tenant_id=request.ctx.tenant.id)
    if request.args.get("status"):
        query = query.filter(status=request.args.get("status"))
    limit = query_int(request.args, "limit", 50, 1, 200)
    rows = await query.order_by("-created_at").limit(limit)
    return json({"items": [risk.present_alert(a) for a in rows]})


@bp.post("/risk-alerts/<alert_id:str>")
@openapi.summary("Acknowledge or resolve a risk alert with a note")
@openapi.body({"application/json": HandleAlert.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def alert_handle(request: Request, alert_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, HandleAlert)
    op = await operator(request)
    alert = await risk.handle_alert(request.ctx.tenant, alert_id, body.action, operator=op,
                                    note=body.note)
    return json(risk.present_alert(alert))


class BindCertificate(StrictBody):
    company_name: str = Field(..., min_length=2, max_length=200)
    uscc: str = Field("", max_length=18)
    algorithm: Literal["sm2", "rsa", "dual"] = "dual"
    pkcs12_base64: str | None = Field(None, description="import from an external CA instead")
    password: str = Field("", max_length=200)


@bp.post("/certificates")
@openapi.summary("Bind a company to certificates: issued by the platform CA or imported (PKCS#12)")
@openapi.body({"application/json": BindCertificate.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def certificate_bind(request: Request) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, BindCertificate)
    op = await operator(request)
    tenant, pki = request.ctx.tenant, request.app.ctx.runtime.pki()
    if body.pkcs12_base64 is not None:
        binding = await certificates.bind_imported_pkcs12(
            tenant, pki, company_name=body.company_name, uscc=body.uscc,
            pkcs12=_upload(body.pkcs12_base64), password=body.password, operator=op)
    else:
        binding = await certificates.bind_internal(
            tenant, pki, company_name=body.company_name, uscc=body.uscc,
            algorithm=body.algorithm, operator=op)
    return json(certificates.present_binding(binding), status=201)


@bp.get("/certificates")
@openapi.summary("Certificate bindings with expiry warnings (?company=...)")
@openapi.secured("AppSignature")
@authenticated
async def certificate_list(request: Request) -> HTTPResponse:
    query = CertificateBinding.filter(tenant_id=request.ctx.tenant.id)
    if request.args.get("company"):
        query = query.filter(company_name=request.args.get("company"))
    rows = await query.order_by("-created_at").limit(200)
    return json({"items": [certificates.present_binding(b) for b in rows]})


class ApplySeal(Use):
    company_name: str = Field(..., min_length=2, max_length=200)
    pdf_base64: str
    page: int = Field(1, ge=1)
    rect: tuple[float, float, float, float] | None = None
    keyword: str | None = Field(None, max_length=50)
    size: float = Field(120.0, gt=10, le=400)

    model_config = {**StrictBody.model_config, "strict": False}


@bp.post("/seals/<seal_id:str>/apply")
@openapi.summary("Seal a PDF: grant check, use log, company certificate signature with the seal")
@openapi.body({"application/json": ApplySeal.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def seal_apply(request: Request, seal_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, ApplySeal)
    use_request = _use_request(request, body)
    sealed = await seal_document.seal_document(
        request.ctx.tenant, request.app.ctx.runtime, seal_id=seal_id,
        company_name=body.company_name, pdf=_upload(body.pdf_base64),
        placement=seal_document.Placement(page=body.page, rect=body.rect, keyword=body.keyword,
                                          size=body.size), use=use_request)
    return json({"pdf_base64": base64.b64encode(sealed.pdf).decode(), "sha256": sealed.sha256,
                 "algorithms": list(sealed.algorithms), "use_id": sealed.use_id}, status=201)


class RegisterDevice(StrictBody):
    kind: Literal["physical", "ukey"]
    serial: str = Field(..., min_length=1, max_length=100)
    holder: str = Field("", max_length=200)
    location: str = Field("", max_length=200)
    seal_id: str | None = None


class DeviceUse(StrictBody):
    user_ref: str = Field(..., min_length=1, max_length=64)
    document_ref: str = Field(..., min_length=1, max_length=64)


@bp.post("/seal-devices")
@openapi.summary("Register a physical seal or U-key")
@openapi.body({"application/json": RegisterDevice.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def device_register(request: Request) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, RegisterDevice)
    op = await operator(request)
    device = await devices.register_device(request.ctx.tenant, kind=body.kind, serial=body.serial,
                                           holder=body.holder, location=body.location,
                                           seal_id=body.seal_id, operator=op)
    return json(devices.present_device(device), status=201)


@bp.post("/seal-devices/<device_id:str>/uses")
@openapi.summary("Log a use of a physical seal or U-key")
@openapi.body({"application/json": DeviceUse.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def device_use(request: Request, device_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, DeviceUse)
    op = await operator(request)
    use = await devices.log_device_use(request.ctx.tenant, device_id, user_ref=body.user_ref,
                                       document_ref=body.document_ref, ip=client_ip(request),
                                       operator=op)
    return json(devices.present_use(use), status=201)


@bp.get("/seals/<seal_id:str>/uses")
@openapi.summary("A seal's use log (allowed and refused), newest first")
@openapi.secured("AppSignature")
@authenticated
async def seal_uses(request: Request, seal_id: str) -> HTTPResponse:
    seal = await lifecycle.get_seal(request.ctx.tenant, seal_id)
    limit = query_int(request.args, "limit", 50, 1, 500)
    rows = await SealUse.filter(seal_id=seal.id).order_by("-id").limit(limit)
    return json({"items": [devices.present_use(u) for u in rows]})
