"""/api/v1/documents [文件中心]: query, metadata, downloads (original, current, desensitised,
print copy), evidence (JSON package, signed PDF report, appending signing-flow events),
comparison, grants, company seal, signed revisions, void/supersede.

Every route needs the acting person: ``X-Operator`` (user ref), ``X-Operator-Roles``
(comma-separated) and ``X-Operator-Unit``. A document is visible to its owner unit (and units
above it), its signers and grantees (user, role, unit); to anyone else it does not exist (404).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from backend.api.bodies import StrictBody, parse_json, query_int
from backend.api.idempotent import respond_idempotent
from backend.api.middleware import authenticated, client_ip
from backend.api.templates import Signer, caller, decode_pdf, path_number, pdf_response
from backend.errors import ValidationFailed
from backend.models.document import DocumentRevision
from backend.services import (compare_documents, document_copies, document_lifecycle, evidence,
                              documents_query, generate_document, metering)
from backend.services.seals.use import UseRequest

bp = Blueprint("documents", url_prefix="/api/v1")


def _device(request: Request) -> str:
    return request.headers.get("User-Agent", "")[:300]


class Upload(StrictBody):
    pdf_base64: str
    title: str = Field(..., min_length=1, max_length=200)
    doc_type: str = Field("", max_length=32)
    business_no: str = Field("", max_length=64)
    policy_no: str = Field("", max_length=64)
    unit: str = Field("", max_length=64)
    signers: list[Signer] = Field(default_factory=list, max_length=20)
    status: Literal["draft", "signing", "signed"] = "draft"
    retention_until: dt.date | None = None

    model_config = {**StrictBody.model_config, "strict": False}


class GrantAccess(StrictBody):
    grantee_type: Literal["user", "role", "unit"]
    grantee_ref: str = Field(..., min_length=1, max_length=64)


class SealDocument(StrictBody):
    seal_id: str = Field(..., min_length=1, max_length=64)
    company_name: str = Field(..., min_length=2, max_length=200)
    role: str | None = Field(None, max_length=32, description="the template's signing position")
    page: int | None = Field(None, ge=1)
    rect: tuple[float, float, float, float] | None = None
    keyword: str | None = Field(None, max_length=50)
    size: float = Field(120.0, gt=10, le=400)
    user_ref: str = Field(..., min_length=1, max_length=64, description="who uses the seal")
    flow: str = Field("", max_length=32)
    roles: list[str] = Field(default_factory=list, max_length=20)
    unit_ref: str = Field("", max_length=64)
    device: str = Field("", max_length=200)
    region: str = Field("", max_length=64)

    model_config = {**StrictBody.model_config, "strict": False}


class SubmitSigned(StrictBody):
    pdf_base64: str
    final: bool = True


class AddEvidence(StrictBody):
    kind: Literal[evidence.EXTERNAL_KINDS]  # type: ignore[valid-type]
    actor: str = Field("", max_length=200, description="who acted (default X-Operator)")
    ip: str = Field("", max_length=64, description="the person's IP (default: the caller's)")
    device: str = Field("", max_length=300)
    occurred_at: dt.datetime | None = None
    payload: dict[str, Any] = Field(default_factory=dict)

    model_config = {**StrictBody.model_config, "strict": False}


class Void(StrictBody):
    reason: str = Field(..., min_length=1, max_length=300)
    superseded_by: str | None = Field(None, max_length=64, description="the replacing document")


@bp.post("/documents")
@openapi.summary("Upload a PDF into the file centre")
@openapi.body({"application/json": Upload.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def document_upload(request: Request) -> HTTPResponse:
    body, who = parse_json(request.content_type, request.body, Upload), caller(request)
    runtime, tenant = request.app.ctx.runtime, request.ctx.tenant

    async def action() -> tuple[int, dict]:
        doc = await generate_document.upload(
            tenant, runtime, decode_pdf(body.pdf_base64), caller=who, title=body.title,
            doc_type=body.doc_type, business_no=body.business_no, policy_no=body.policy_no,
            unit_ref=body.unit, signers=[s.model_dump() for s in body.signers],
            status=body.status, retention_until=body.retention_until, ip=client_ip(request),
            device=_device(request))
        return 201, document_lifecycle.present_document(doc)

    return await respond_idempotent(request, action)


@bp.get("/documents")
@openapi.summary("Query documents: business_no, policy_no, signer, status, doc_type, unit, "
                 "template, since, until, retention_before (limit, offset)")
@openapi.secured("AppSignature")
@authenticated
async def document_search(request: Request) -> HTTPResponse:
    who = caller(request)
    found = await documents_query.search(
        request.ctx.tenant, who, request.args,
        limit=query_int(request.args, "limit", 50, 1, 200),
        offset=query_int(request.args, "offset", 0, 0, 1_000_000))
    return json({"total": found["total"],
                 "items": [document_lifecycle.present_document(d) for d in found["items"]]})


@bp.get("/documents/compare")
@openapi.summary("Compare two documents or revisions (?old=&new=&old_revision=&new_revision=, "
                 "?format=pdf for the highlighted new version)")
@openapi.secured("AppSignature")
@authenticated
async def document_compare(request: Request) -> HTTPResponse:
    who = caller(request)
    old = request.args.get("old")
    if not old:
        raise ValidationFailed("old (a document id) is required", code="QUERY_INVALID")
    revision = {name: query_int(request.args, name, 0, 1, 1_000_000) or None
                for name in ("old_revision", "new_revision")}
    as_pdf = request.args.get("format") == "pdf"
    result, pdf = await compare_documents.compare_documents(
        request.ctx.tenant, request.app.ctx.runtime, who, old=old, new=request.args.get("new"),
        old_revision=revision["old_revision"], new_revision=revision["new_revision"],
        highlight=as_pdf)
    return pdf_response(pdf, "compare") if as_pdf else json(result)


@bp.get("/documents/<document_id:str>")
@openapi.summary("A document's metadata")
@openapi.secured("AppSignature")
@authenticated
async def document_read(request: Request, document_id: str) -> HTTPResponse:
    doc = await documents_query.get_document(request.ctx.tenant, caller(request), document_id)
    return json(document_lifecycle.present_document(doc))


@bp.get("/documents/<document_id:str>/revisions")
@openapi.summary("Every content the document had (generated, signed ...)")
@openapi.secured("AppSignature")
@authenticated
async def document_revisions(request: Request, document_id: str) -> HTTPResponse:
    doc = await documents_query.get_document(request.ctx.tenant, caller(request), document_id)
    rows = await DocumentRevision.filter(document_id=doc.id).order_by("number")
    return json({"items": [document_lifecycle.present_revision(r) for r in rows]})


async def _download(request: Request, document_id: str, which: str,
                    revision: int | None = None) -> HTTPResponse:
    doc, data = await document_copies.download(
        request.ctx.tenant, request.app.ctx.runtime, caller(request), document_id, which,
        revision=revision, ip=client_ip(request), device=_device(request))
    return pdf_response(data, f"{doc.id}-{which if revision is None else revision}")


@bp.get("/documents/<document_id:str>/original")
@openapi.summary("Download the original content (as made or uploaded)")
@openapi.secured("AppSignature")
@authenticated
async def document_original(request: Request, document_id: str) -> HTTPResponse:
    return await _download(request, document_id, "original")


@bp.get("/documents/<document_id:str>/current")
@openapi.summary("Download the current content (e.g. signed)")
@openapi.secured("AppSignature")
@authenticated
async def document_current(request: Request, document_id: str) -> HTTPResponse:
    return await _download(request, document_id, "current")


@bp.get("/documents/<document_id:str>/revisions/<number:str>/file")
@openapi.summary("Download one revision")
@openapi.secured("AppSignature")
@authenticated
async def document_revision_file(request: Request, document_id: str, number: str) -> HTTPResponse:
    return await _download(request, document_id, "revision", path_number(number))


@bp.get("/documents/<document_id:str>/desensitised")
@openapi.summary("Desensitised copy: every seal in black, marked, unsigned (the archive is untouched)")
@openapi.secured("AppSignature")
@authenticated
async def document_desensitised(request: Request, document_id: str) -> HTTPResponse:
    doc, data = await document_copies.desensitised(
        request.ctx.tenant, request.app.ctx.runtime, caller(request), document_id,
        ip=client_ip(request), device=_device(request))
    return pdf_response(data, f"{doc.id}-desensitised")


@bp.get("/documents/<document_id:str>/print-copy")
@openapi.summary("Anti-counterfeit print copy: QR code + short code on each page → /v/<code>")
@openapi.secured("AppSignature")
@authenticated
async def document_print_copy(request: Request, document_id: str) -> HTTPResponse:
    doc, data = await document_copies.print_copy(
        request.ctx.tenant, request.app.ctx.runtime, caller(request), document_id,
        ip=client_ip(request), device=_device(request))
    response = pdf_response(data, f"{doc.id}-print")
    response.headers["X-Short-Code"] = doc.short_code
    return response


@bp.get("/documents/<document_id:str>/evidence")
@openapi.summary("The evidence package: hashes, every event in order, clause times, chain check")
@openapi.secured("AppSignature")
@authenticated
async def document_evidence(request: Request, document_id: str) -> HTTPResponse:
    doc = await documents_query.get_document(request.ctx.tenant, caller(request), document_id)
    return json(await evidence.package(doc))


@bp.get("/documents/<document_id:str>/evidence/report")
@openapi.summary("The evidence report as a PDF signed by the platform (SM2 + RSA with a "
                 "time-stamp, metered as `timestamp`; 402 QUOTA_EXCEEDED past a hard quota)")
@openapi.secured("AppSignature")
@authenticated
async def document_evidence_report(request: Request, document_id: str) -> HTTPResponse:
    doc = await documents_query.get_document(request.ctx.tenant, caller(request), document_id)
    await metering.check_quota(request.ctx.tenant, "timestamp")  # the report is time-stamped
    pdf, info = await evidence.report_pdf(doc, request.app.ctx.runtime)
    response = pdf_response(pdf, f"{doc.id}-evidence")
    response.headers["X-Evidence-Chain-OK"] = "true" if info["chain"]["ok"] else "false"
    return response


@bp.post("/documents/<document_id:str>/evidence")
@openapi.summary("Append a signing-flow event (identity check, intent, clause shown/acknowledged, "
                 "signature, timestamp) to the evidence chain; payload.identity_check_id / "
                 "payload.intent_id link the platform's own records")
@openapi.body({"application/json": AddEvidence.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def document_evidence_add(request: Request, document_id: str) -> HTTPResponse:
    body, who = parse_json(request.content_type, request.body, AddEvidence), caller(request)
    doc = await documents_query.get_document(request.ctx.tenant, who, document_id)
    if doc.status in document_lifecycle.FINAL:
        raise document_lifecycle.DocumentStateInvalid(f"the document is {doc.status}")
    event = await evidence.record_external(
        doc, body.kind, actor=body.actor or who.actor, ip=body.ip or client_ip(request),
        device=body.device or _device(request), payload=body.payload,
        occurred_at=body.occurred_at)
    return json(evidence.present_event(event), status=201)


@bp.post("/documents/<document_id:str>/grants")
@openapi.summary("Let a user, role or unit see the document")
@openapi.body({"application/json": GrantAccess.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def document_grant(request: Request, document_id: str) -> HTTPResponse:
    body, who = parse_json(request.content_type, request.body, GrantAccess), caller(request)
    grant = await document_lifecycle.grant_access(
        request.ctx.tenant, who, document_id, grantee_type=body.grantee_type,
        grantee_ref=body.grantee_ref, ip=client_ip(request))
    return json({"grantee_type": grant.grantee_type, "grantee_ref": grant.grantee_ref,
                 "granted_by": grant.granted_by}, status=201)


@bp.post("/documents/<document_id:str>/seal")
@openapi.summary("Apply a company seal at the template's signing position for a role (or a rect/keyword)")
@openapi.body({"application/json": SealDocument.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def document_seal(request: Request, document_id: str) -> HTTPResponse:
    body, who = parse_json(request.content_type, request.body, SealDocument), caller(request)
    doc = await documents_query.get_document(request.ctx.tenant, who, document_id)
    use = UseRequest(user_ref=body.user_ref, document_ref=str(doc.id),
                     document_type=doc.doc_type, flow=body.flow, roles=tuple(body.roles),
                     unit_ref=body.unit_ref, ip=client_ip(request), device=body.device,
                     region=body.region)
    doc = await document_lifecycle.seal(
        request.ctx.tenant, request.app.ctx.runtime, who, document_id, seal_id=body.seal_id,
        company_name=body.company_name, role=body.role, page=body.page, rect=body.rect,
        keyword=body.keyword, size=body.size, use_request=use, ip=client_ip(request),
        device=body.device)
    return json(document_lifecycle.present_document(doc), status=201)


@bp.post("/documents/<document_id:str>/signed")
@openapi.summary("Hand back the signed file (an incremental update of the current content)")
@openapi.body({"application/json": SubmitSigned.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def document_signed(request: Request, document_id: str) -> HTTPResponse:
    body, who = parse_json(request.content_type, request.body, SubmitSigned), caller(request)
    doc = await document_lifecycle.submit_signed(
        request.ctx.tenant, request.app.ctx.runtime, who, document_id,
        decode_pdf(body.pdf_base64), final=body.final, ip=client_ip(request),
        device=_device(request))
    return json(document_lifecycle.present_document(doc), status=201)


@bp.post("/documents/<document_id:str>/void")
@openapi.summary("Void a document, or mark it superseded by another (the verification page says so)")
@openapi.body({"application/json": Void.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def document_void(request: Request, document_id: str) -> HTTPResponse:
    body, who = parse_json(request.content_type, request.body, Void), caller(request)
    doc = await document_lifecycle.void(request.ctx.tenant, who, document_id, reason=body.reason,
                                        superseded_by=body.superseded_by, ip=client_ip(request))
    return json(document_lifecycle.present_document(doc))
