"""/api/v1/templates [模版中心]: upload or build templates, versions and their edit trail,
publish/disable, sharing, the shipped examples, and fill → a document [一键套用].

The acting person: ``X-Operator`` (user ref, required for changes), ``X-Operator-Unit`` (their
unit: a template not shared is filled only by its unit) and ``X-Operator-Roles``.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json, raw
from sanic_ext import openapi
from tortoise.expressions import Q

from backend.api.bodies import StrictBody, decode_base64, parse_json, query_int
from backend.api.idempotent import respond_idempotent
from backend.api.middleware import authenticated, client_ip
from backend.errors import NotFound, ValidationFailed
from backend.models.template import Template, TemplateEdit, TemplateVersion
from backend.services import (compare_documents, document_lifecycle, file_store,
                              generate_document, templates_catalog)
from backend.services.documents_query import Caller

bp = Blueprint("templates", url_prefix="/api/v1")


class OperatorRequired(ValidationFailed):
    code, message = "OPERATOR_REQUIRED", "X-Operator header (the acting user) is required"


def caller(request: Request) -> Caller:
    """The acting person from X-Operator, X-Operator-Roles (comma-separated), X-Operator-Unit."""
    user = request.headers.get("X-Operator", "").strip()
    if not (1 <= len(user) <= 100):
        raise OperatorRequired()
    roles = tuple(r.strip() for r in request.headers.get("X-Operator-Roles", "").split(",")
                  if r.strip())[:20]
    unit = request.headers.get("X-Operator-Unit", "").strip()[:64]
    return Caller(user_ref=user, roles=roles, unit_ref=unit)


def decode_pdf(value: str | None, field: str = "pdf_base64") -> bytes | None:
    return None if value is None else decode_base64(value, field, "PDF_BASE64_INVALID")


def path_number(value: str) -> int:
    """A version/revision number from the path; anything else is a missing one (404)."""
    if not value.isdigit() or not 1 <= int(value) <= 1_000_000:
        raise NotFound("no such version", code="VERSION_NOT_FOUND")
    return int(value)


def pdf_response(data: bytes, name: str) -> HTTPResponse:
    import hashlib
    return raw(data, content_type="application/pdf",
               headers={"Content-Disposition": f'inline; filename="{name}.pdf"',
                        "X-Content-SHA256": hashlib.sha256(data).hexdigest(),
                        "Cache-Control": "no-store"})


class CreateTemplate(StrictBody):
    code: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    title: str = Field(..., min_length=1, max_length=200)
    pdf_base64: str | None = Field(None, description="the base PDF (with `definition`)")
    definition: dict[str, Any] | None = Field(
        None, description="fields and sign_positions (documents.template JSON)")
    html: str | None = Field(None, max_length=200_000,
                             description="build a simple form from HTML or plain text instead")
    doc_type: str = Field("", max_length=32)
    description: str = Field("", max_length=2000)
    shared: bool = True
    unit: str = Field("hq", min_length=1, max_length=64, description="owner unit")
    publish: bool = False


class NewVersion(StrictBody):
    summary: str = Field(..., min_length=1, max_length=500, description="what changed and why")
    pdf_base64: str | None = None
    definition: dict[str, Any] | None = None
    html: str | None = Field(None, max_length=200_000)
    title: str | None = Field(None, max_length=200)


class TemplateTransition(StrictBody):
    action: Literal["publish", "disable"]
    reason: str = Field("", max_length=500)


class Sharing(StrictBody):
    shared: bool


class ImportExamples(StrictBody):
    codes: list[str] | None = Field(None, max_length=50)


class Signer(StrictBody):
    role: str = Field(..., min_length=1, max_length=32)
    name: str = Field("", max_length=100, description="stored masked only")
    ref: str = Field("", max_length=64, description="the signer's user/person ref (sees the document)")
    mobile: str | None = Field(None, max_length=20, description="stored masked only")


class Fill(StrictBody):
    params: dict[str, Any]
    title: str = Field("", max_length=200)
    business_no: str = Field("", max_length=64)
    policy_no: str = Field("", max_length=64, description="default: params.policy_no")
    unit: str = Field("", max_length=64, description="owner unit; default X-Operator-Unit")
    signers: list[Signer] = Field(default_factory=list, max_length=20)
    retention_until: dt.date | None = None
    device: str = Field("", max_length=300)

    model_config = {**StrictBody.model_config, "strict": False}


@bp.post("/templates")
@openapi.summary("Create a template: upload a PDF + definition, or build it from HTML/text")
@openapi.body({"application/json": CreateTemplate.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def template_create(request: Request) -> HTTPResponse:
    body, who = parse_json(request.content_type, request.body, CreateTemplate), caller(request)
    runtime, tenant = request.app.ctx.runtime, request.ctx.tenant

    async def action() -> tuple[int, dict]:
        template = await templates_catalog.create_template(
            tenant, runtime, code=body.code, title=body.title, actor=who.actor,
            pdf=decode_pdf(body.pdf_base64), definition=body.definition, html=body.html,
            doc_type=body.doc_type, description=body.description, shared=body.shared,
            unit_ref=body.unit, publish=body.publish)
        return 201, await _present_full(template)

    return await respond_idempotent(request, action)


async def _present_full(template: Template) -> dict:
    version = await templates_catalog.get_version(template)
    return {**templates_catalog.present_template(template),
            "version": templates_catalog.present_version(version)}


@bp.post("/templates/import-examples")
@openapi.summary("Import the shipped example templates (published, shared)")
@openapi.body({"application/json": ImportExamples.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def template_import(request: Request) -> HTTPResponse:
    body, who = parse_json(request.content_type, request.body, ImportExamples), caller(request)
    items = await templates_catalog.import_examples(request.ctx.tenant, request.app.ctx.runtime,
                                                    actor=who.actor, codes=body.codes)
    return json({"items": items}, status=201)


@bp.get("/templates")
@openapi.summary("Templates (?status=, ?doc_type=); a unit sees shared ones and its own")
@openapi.secured("AppSignature")
@authenticated
async def template_list(request: Request) -> HTTPResponse:
    query = Template.filter(tenant_id=request.ctx.tenant.id)
    unit = request.headers.get("X-Operator-Unit", "").strip()
    if unit:
        query = query.filter(Q(shared=True) | Q(unit_ref=unit))
    for name, column in (("status", "status"), ("doc_type", "doc_type")):
        if request.args.get(name):
            query = query.filter(**{column: request.args.get(name)})
    limit = query_int(request.args, "limit", 100, 1, 500)
    rows = await query.order_by("code").limit(limit)
    return json({"items": [templates_catalog.present_template(t) for t in rows]})


@bp.get("/templates/<template_id:str>")
@openapi.summary("A template (by id or code) with its current version's definition")
@openapi.secured("AppSignature")
@authenticated
async def template_read(request: Request, template_id: str) -> HTTPResponse:
    template = await templates_catalog.get_template(request.ctx.tenant, template_id)
    return json(await _present_full(template))


@bp.get("/templates/<template_id:str>/versions")
@openapi.summary("Every version of a template")
@openapi.secured("AppSignature")
@authenticated
async def template_versions(request: Request, template_id: str) -> HTTPResponse:
    template = await templates_catalog.get_template(request.ctx.tenant, template_id)
    rows = await TemplateVersion.filter(template_id=template.id).order_by("number")
    return json({"items": [templates_catalog.present_version(v) for v in rows]})


@bp.get("/templates/<template_id:str>/versions/<number:str>")
@openapi.summary("One version of a template")
@openapi.secured("AppSignature")
@authenticated
async def template_version(request: Request, template_id: str, number: str) -> HTTPResponse:
    template = await templates_catalog.get_template(request.ctx.tenant, template_id)
    version = await templates_catalog.get_version(template, path_number(number))
    return json(templates_catalog.present_version(version))


@bp.get("/templates/<template_id:str>/versions/<number:str>/pdf")
@openapi.summary("The base PDF of a template version")
@openapi.secured("AppSignature")
@authenticated
async def template_version_pdf(request: Request, template_id: str, number: str) -> HTTPResponse:
    template = await templates_catalog.get_template(request.ctx.tenant, template_id)
    version = await templates_catalog.get_version(template, path_number(number))
    data = await file_store.get(request.app.ctx.runtime, version.pdf_sha256)
    return pdf_response(data, f"{template.code}-v{version.number}")


@bp.post("/templates/<template_id:str>/versions")
@openapi.summary("Change a template (PDF and/or definition): a new version, with the edit trail")
@openapi.body({"application/json": NewVersion.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def template_new_version(request: Request, template_id: str) -> HTTPResponse:
    body, who = parse_json(request.content_type, request.body, NewVersion), caller(request)
    version = await templates_catalog.new_version(
        request.ctx.tenant, request.app.ctx.runtime, template_id, actor=who.actor,
        summary=body.summary, pdf=decode_pdf(body.pdf_base64), definition=body.definition,
        html=body.html, title=body.title)
    return json(templates_catalog.present_version(version), status=201)


@bp.post("/templates/<template_id:str>/transitions")
@openapi.summary("Publish or disable a template")
@openapi.body({"application/json": TemplateTransition.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def template_transition(request: Request, template_id: str) -> HTTPResponse:
    body, who = parse_json(request.content_type, request.body, TemplateTransition), caller(request)
    template = await templates_catalog.transition(request.ctx.tenant, template_id, body.action,
                                                  actor=who.actor, reason=body.reason)
    return json(templates_catalog.present_template(template))


@bp.post("/templates/<template_id:str>/sharing")
@openapi.summary("Share a template with every unit, or keep it to its owner unit")
@openapi.body({"application/json": Sharing.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def template_sharing(request: Request, template_id: str) -> HTTPResponse:
    body, who = parse_json(request.content_type, request.body, Sharing), caller(request)
    template = await templates_catalog.set_sharing(request.ctx.tenant, template_id,
                                                   shared=body.shared, actor=who.actor)
    return json(templates_catalog.present_template(template))


@bp.get("/templates/<template_id:str>/edits")
@openapi.summary("The edit trail of a template: who changed what, when [编辑留痕]")
@openapi.secured("AppSignature")
@authenticated
async def template_edits(request: Request, template_id: str) -> HTTPResponse:
    template = await templates_catalog.get_template(request.ctx.tenant, template_id)
    rows = await TemplateEdit.filter(template_id=template.id).order_by("id")
    return json({"items": [templates_catalog.present_edit(e) for e in rows]})


@bp.get("/templates/<template_id:str>/compare")
@openapi.summary("Compare two versions' base PDFs (?old=1&new=2, ?format=pdf for the highlight)")
@openapi.secured("AppSignature")
@authenticated
async def template_compare(request: Request, template_id: str) -> HTTPResponse:
    old = query_int(request.args, "old", 1, 1, 1_000_000)
    new = query_int(request.args, "new", 2, 1, 1_000_000)
    as_pdf = request.args.get("format") == "pdf"
    result, pdf = await compare_documents.compare_template_versions(
        request.ctx.tenant, request.app.ctx.runtime, template_id, old, new, highlight=as_pdf)
    return pdf_response(pdf, f"compare-v{old}-v{new}") if as_pdf else json(result)


@bp.post("/templates/<template_id:str>/fill")
@openapi.summary("Fill the published template with parameters → a new document (422 lists every bad field)")
@openapi.body({"application/json": Fill.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def template_fill(request: Request, template_id: str) -> HTTPResponse:
    body, who = parse_json(request.content_type, request.body, Fill), caller(request)
    runtime, tenant = request.app.ctx.runtime, request.ctx.tenant

    async def action() -> tuple[int, dict]:
        doc = await generate_document.generate(
            tenant, runtime, template_id, body.params, caller=who, title=body.title,
            business_no=body.business_no, policy_no=body.policy_no, unit_ref=body.unit,
            signers=[s.model_dump() for s in body.signers],
            retention_until=body.retention_until, ip=client_ip(request), device=body.device)
        return 201, document_lifecycle.present_document(doc)

    return await respond_idempotent(request, action)
