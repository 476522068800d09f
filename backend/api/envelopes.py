"""/api/v1/envelopes [签署中心]: issue (idempotent on the business number), send, sign step by
step for a person (identity, clauses, materials, intent, handwritten signature), approve or
reject, remind, void with both parties, batches (create, progress, terminate), batch signing,
agents whose licence lapsed.

Business systems call these with the app signature; ``X-Operator`` names the acting user.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from backend.api.bodies import StrictBody, decode_base64, parse_json, query_int
from backend.api.idempotent import respond_idempotent
from backend.api.middleware import authenticated, client_ip
from backend.api.templates import caller, decode_pdf, pdf_response
from backend.services import file_store
from backend.services.envelopes import (agents, batch, batch_sign, create, decide, flow,
                                        materials, person_sign, reminders, void)
from backend.services.envelopes.spec import EnvelopeSpec
from backend.services.envelopes.state import get_envelope, get_signer, search, show

bp = Blueprint("envelopes", url_prefix="/api/v1")


class SignerBody(StrictBody):
    kind: Literal["person", "company", "approver"]
    role: str = Field(..., min_length=1, max_length=32)
    stage: int = Field(1, ge=1, le=20)
    name: str = Field("", max_length=50)
    id_number: str = Field("", max_length=32)
    mobile: str = Field("", max_length=20)
    ref: str = Field("", max_length=64, description="the business system's id of the person")
    company_name: str = Field("", max_length=200)
    seal_id: str = Field("", max_length=64, description="empty at a pre-seal node")
    user_ref: str = Field("", max_length=64, description="grantee the company seal is used by")
    identity: list[Literal["two_factor", "three_factor", "face"]] = Field(default_factory=list)
    intent: Literal["sms", "password", "face", "none"] = "sms"
    position: dict[str, Any] = Field(default_factory=dict,
                                     description='{"role"} | {"page","rect"} | {"keyword"}')
    materials: list[str] = Field(default_factory=list, max_length=10)


class Clause(StrictBody):
    id: str = Field(..., min_length=1, max_length=32)
    title: str = Field(..., min_length=1, max_length=100)
    text: str = Field(..., min_length=1, max_length=4000)


class Change(StrictBody):
    field: str = Field(..., max_length=64)
    label: str = Field("", max_length=64)
    old: str = Field("", max_length=200)
    new: str = Field("", max_length=200)


class EnvelopeBody(StrictBody):
    title: str = Field("", max_length=200)
    doc_type: str = Field("", max_length=32)
    business_no: str = Field("", max_length=64, description="unique per tenant and doc_type")
    policy_no: str = Field("", max_length=64)
    template: str = Field("", max_length=64, description="template code (with params)")
    params: dict[str, Any] = Field(default_factory=dict)
    pdf_base64: str | None = None
    unit: str = Field("", max_length=64)
    business_line: str = Field("", max_length=64)
    clauses: list[Clause] = Field(default_factory=list, max_length=30)
    changes: list[Change] = Field(default_factory=list, max_length=50)
    deadline_at: dt.datetime | None = None
    valid_until: dt.date | None = None
    send: bool = True
    notify: bool = True
    signers: list[SignerBody] = Field(..., min_length=1, max_length=20)

    model_config = {**StrictBody.model_config, "strict": False}


class SignatureBody(StrictBody):
    strokes: list[Any] | None = Field(None, description="[[{x, y, t, p}, ...], ...]")
    png_base64: str | None = None
    ink: Literal["black", "blue"] = "black"


class SignBody(StrictBody):
    intent_id: str | None = None
    signature: SignatureBody


class Comment(StrictBody):
    comment: str = Field("", max_length=300)
    seal_id: str = Field("", max_length=64, description="pre-seal node: the seal chosen")
    position: dict[str, Any] | None = Field(None, description="pre-seal node: where it goes")


class Reason(StrictBody):
    reason: str = Field(..., min_length=1, max_length=300)


class Ack(StrictBody):
    shown_seconds: float = Field(..., ge=0, le=86400)

    model_config = {**StrictBody.model_config, "strict": False}


class Material(StrictBody):
    kind: str = Field(..., max_length=32)
    image_base64: str


class IdentityBody(StrictBody):
    face_session: str = Field("", max_length=128)


class LinkBody(StrictBody):
    ttl_hours: int | None = Field(None, ge=1, le=720)


class BatchBody(EnvelopeBody):
    signers: list[SignerBody] = Field(..., min_length=1, max_length=20)
    items: list[dict[str, Any]] = Field(default_factory=list, max_length=batch.MAX_ITEMS,
                                        description='[{"business_no", "params"}]')
    csv: str | None = Field(None, description="header row; business_no + parameter columns")


class BatchSignIntent(StrictBody):
    person_id: str
    envelope_ids: list[str] = Field(..., min_length=1, max_length=batch_sign.MAX_ENVELOPES)
    method: Literal["sms", "password", "face"] = "sms"


class BatchSignBody(StrictBody):
    person_id: str
    envelope_ids: list[str] = Field(..., min_length=1, max_length=batch_sign.MAX_ENVELOPES)
    intent_id: str
    signature: SignatureBody


async def signature_png(body: SignatureBody) -> bytes:
    """Strokes or a PNG → the normalised signature picture (blank and scribbles refused)."""
    from miniapp_api import handwriting

    if body.strokes is not None:
        return await file_store.run(handwriting.render_strokes, body.strokes, ink=body.ink)
    if body.png_base64:
        return await file_store.run(handwriting.normalise_png, decode_base64(body.png_base64, "png_base64"),
                                    ink=body.ink)
    raise handwriting.SignatureBlank("give strokes or png_base64")


def _spec(body: EnvelopeBody) -> dict[str, Any]:
    raw = body.model_dump(exclude={"pdf_base64", "unit"})
    raw["unit_ref"] = body.unit
    raw["pdf"] = decode_pdf(body.pdf_base64)
    return raw


def _device(request: Request) -> str:
    return request.headers.get("User-Agent", "")[:300]


def _ctx(request: Request):
    return request.app.ctx.runtime, request.ctx.tenant


@bp.post("/envelopes")
@openapi.summary("Issue an envelope (template + params or a PDF) with its signers; the same "
                 "business_no + doc_type returns the first envelope (200)")
@openapi.body({"application/json": EnvelopeBody.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def envelope_create(request: Request) -> HTTPResponse:
    body, who = parse_json(request.content_type, request.body, EnvelopeBody), caller(request)
    runtime, tenant = _ctx(request)
    spec = EnvelopeSpec.from_dict(_spec(body))

    async def action() -> tuple[int, dict]:
        issued = await create.create_envelope(tenant, runtime, spec, caller=who,
                                              ip=client_ip(request), device=_device(request))
        if issued.created and spec.send:
            return 201, {**await flow.send(tenant, runtime, str(issued.envelope.id),
                                           actor=who.actor), "created": True}
        return (201 if issued.created else 200), {**await show(issued.envelope),
                                                  "created": issued.created}

    return await respond_idempotent(request, action)


@bp.get("/envelopes")
@openapi.summary("Envelopes by business_no, doc_type, status, batch_id (limit, offset)")
@openapi.secured("AppSignature")
@authenticated
async def envelope_search(request: Request) -> HTTPResponse:
    args = request.args
    filters = {name: args.get(name) for name in ("business_no", "doc_type", "batch_id", "status")
               if args.get(name)}
    return json(await search(request.ctx.tenant, filters,
                             limit=query_int(args, "limit", 50, 1, 500),
                             offset=query_int(args, "offset", 0, 0, 10**7)))


@bp.get("/envelopes/<envelope_id:str>")
@openapi.summary("An envelope with its signers and their progress")
@openapi.secured("AppSignature")
@authenticated
async def envelope_read(request: Request, envelope_id: str) -> HTTPResponse:
    return json(await show(await get_envelope(request.ctx.tenant, envelope_id)))


@bp.get("/envelopes/<envelope_id:str>/document")
@openapi.summary("The envelope's document as it is now (with every signature so far)")
@openapi.secured("AppSignature")
@authenticated
async def envelope_document(request: Request, envelope_id: str) -> HTTPResponse:
    from backend.models.document import Document

    envelope = await get_envelope(request.ctx.tenant, envelope_id)
    doc = await Document.get(id=envelope.document_id)
    return pdf_response(await file_store.get(request.app.ctx.runtime, doc.current_sha256),
                        envelope.business_no or str(envelope.id))


@bp.post("/envelopes/<envelope_id:str>/send")
@openapi.summary("Send a draft envelope: its first stage opens")
@openapi.secured("AppSignature")
@authenticated
async def envelope_send(request: Request, envelope_id: str) -> HTTPResponse:
    runtime, tenant = _ctx(request)
    return json(await flow.send(tenant, runtime, envelope_id, actor=caller(request).actor))


@bp.post("/envelopes/<envelope_id:str>/resume")
@openapi.summary("Run the silent company seals now due (after a seal or grant was fixed); "
                 "a seal that still cannot be used answers with its error")
@openapi.secured("AppSignature")
@authenticated
async def envelope_resume(request: Request, envelope_id: str) -> HTTPResponse:
    runtime, tenant = _ctx(request)
    envelope = await get_envelope(tenant, envelope_id)
    await flow.run_silent_steps(tenant, runtime, str(envelope.id), raise_errors=True)
    return json(await show(await get_envelope(tenant, envelope_id)))


@bp.post("/envelopes/<envelope_id:str>/remind")
@openapi.summary("Send the signers whose turn it is a fresh link now")
@openapi.secured("AppSignature")
@authenticated
async def envelope_remind(request: Request, envelope_id: str) -> HTTPResponse:
    runtime, tenant = _ctx(request)
    return json({"message_ids": await reminders.remind(tenant, runtime, envelope_id)})


@bp.post("/envelopes/<envelope_id:str>/void")
@openapi.summary("Ask to void (the initiator's confirmation); persons who signed confirm too")
@openapi.body({"application/json": Reason.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def envelope_void(request: Request, envelope_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, Reason)
    runtime, tenant = _ctx(request)
    return json(await void.request_void(tenant, runtime, envelope_id, reason=body.reason,
                                        actor=caller(request).actor))


async def _pair(request: Request, envelope_id: str, signer_id: str):
    envelope = await get_envelope(request.ctx.tenant, envelope_id)
    return envelope, await get_signer(envelope, signer_id)


@bp.post("/envelopes/<envelope_id:str>/signers/<signer_id:str>/void-confirm")
@openapi.summary("A person who signed confirms the voiding")
@openapi.secured("AppSignature")
@authenticated
async def signer_void_confirm(request: Request, envelope_id: str, signer_id: str) -> HTTPResponse:
    runtime, tenant = _ctx(request)
    envelope, signer = await _pair(request, envelope_id, signer_id)
    return json(await void.confirm_void(tenant, runtime, str(envelope.id),
                                        signer_id=str(signer.id),
                                        actor=f"signer:{signer.ref or signer.id}",
                                        ip=client_ip(request)))


@bp.post("/envelopes/<envelope_id:str>/signers/<signer_id:str>/link")
@openapi.summary("A signing link (/s/<token>) for a person signer, e.g. to open in WeChat")
@openapi.secured("AppSignature")
@authenticated
async def signer_link(request: Request, envelope_id: str, signer_id: str) -> HTTPResponse:
    from backend.services import signing_links

    body = parse_json(request.content_type, request.body or b"{}", LinkBody)
    runtime, tenant = _ctx(request)
    envelope, signer = await _pair(request, envelope_id, signer_id)

    async def action() -> tuple[int, dict]:
        issued = await signing_links.issue_link(
            tenant, str(envelope.id), str(signer.id), signer.name_masked,
            body.ttl_hours or runtime.settings.signing_link_ttl_hours)
        return 201, issued.to_dict(runtime.settings.base_url)

    return await respond_idempotent(request, action)


@bp.post("/envelopes/<envelope_id:str>/signers/<signer_id:str>/identity")
@openapi.summary("Run the signer's identity check (skipped when recently passed); face: "
                 "first call returns the liveness session, second call finishes it")
@openapi.secured("AppSignature")
@authenticated
async def signer_identity(request: Request, envelope_id: str, signer_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body or b"{}", IdentityBody)
    runtime, tenant = _ctx(request)
    envelope, signer = await _pair(request, envelope_id, signer_id)
    return json(await person_sign.check_identity(
        tenant, runtime, envelope, signer, face_session=body.face_session,
        ip=client_ip(request), device=_device(request)))


@bp.post("/envelopes/<envelope_id:str>/signers/<signer_id:str>/clauses/<clause_id:str>/ack")
@openapi.summary("The exemption clause was shown (for shown_seconds) and acknowledged")
@openapi.body({"application/json": Ack.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def signer_ack(request: Request, envelope_id: str, signer_id: str,
                     clause_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, Ack)
    envelope, signer = await _pair(request, envelope_id, signer_id)
    acked = await person_sign.acknowledge_clause(envelope, signer, clause_id,
                                                 shown_seconds=body.shown_seconds,
                                                 ip=client_ip(request), device=_device(request))
    return json({"clauses_acknowledged": acked})


@bp.post("/envelopes/<envelope_id:str>/signers/<signer_id:str>/materials")
@openapi.summary("Upload a material (ID card side, qualification certificate) as an image")
@openapi.body({"application/json": Material.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def signer_material(request: Request, envelope_id: str, signer_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, Material)
    envelope, signer = await _pair(request, envelope_id, signer_id)
    return json(await materials.add_material(
        request.app.ctx.runtime, envelope, signer, body.kind,
        decode_base64(body.image_base64, "image_base64"), ip=client_ip(request),
        device=_device(request)), status=201)


@bp.post("/envelopes/<envelope_id:str>/signers/<signer_id:str>/intent")
@openapi.summary("Start the signer's intent confirmation, bound to the document shown; "
                 "answer it at /api/v1/identity/intents/{id}/confirm")
@openapi.secured("AppSignature")
@authenticated
async def signer_intent(request: Request, envelope_id: str, signer_id: str) -> HTTPResponse:
    runtime, tenant = _ctx(request)
    envelope, signer = await _pair(request, envelope_id, signer_id)
    return json(await person_sign.start_intent(tenant, runtime, envelope, signer,
                                               client_ip=client_ip(request)), status=201)


@bp.post("/envelopes/<envelope_id:str>/signers/<signer_id:str>/sign")
@openapi.summary("Sign with the handwritten signature after the confirmed intent")
@openapi.body({"application/json": SignBody.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def signer_sign(request: Request, envelope_id: str, signer_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, SignBody)
    runtime, tenant = _ctx(request)
    envelope, signer = await _pair(request, envelope_id, signer_id)
    png = await signature_png(body.signature)
    done = await person_sign.sign(tenant, runtime, envelope, signer, intent_id=body.intent_id,
                                  signature_png=png, ip=client_ip(request),
                                  device=_device(request))
    await flow.run_silent_steps(tenant, runtime, str(envelope.id))
    return json({**done, "envelope": await show(await get_envelope(tenant, envelope_id))},
                status=201)


@bp.post("/envelopes/<envelope_id:str>/signers/<signer_id:str>/approve")
@openapi.summary("An approver approves (pre-seal node: with the seal and position chosen)")
@openapi.body({"application/json": Comment.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def signer_approve(request: Request, envelope_id: str, signer_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, Comment)
    runtime, tenant = _ctx(request)
    await decide.approve(tenant, runtime, envelope_id, signer_id, comment=body.comment,
                         seal_id=body.seal_id, position=body.position, ip=client_ip(request),
                         device=_device(request))
    return json(await show(await get_envelope(tenant, envelope_id)))


@bp.post("/envelopes/<envelope_id:str>/signers/<signer_id:str>/reject")
@openapi.summary("A person or approver refuses; the envelope ends as rejected")
@openapi.body({"application/json": Comment.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def signer_reject(request: Request, envelope_id: str, signer_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, Comment)
    runtime, tenant = _ctx(request)
    await decide.reject(tenant, runtime, envelope_id, signer_id, comment=body.comment,
                        ip=client_ip(request), device=_device(request))
    return json(await show(await get_envelope(tenant, envelope_id)))


@bp.post("/envelope-batches")
@openapi.summary("Create envelopes in bulk from a template and a list (items or CSV)")
@openapi.body({"application/json": BatchBody.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def batch_create(request: Request) -> HTTPResponse:
    body, who = parse_json(request.content_type, request.body, BatchBody), caller(request)
    runtime, tenant = _ctx(request)
    items = batch.parse_csv(body.csv) if body.csv else body.items
    spec = body.model_dump(mode="json", exclude={"items", "csv", "pdf_base64", "unit",
                                                 "business_no"})
    spec["unit_ref"] = body.unit

    async def action() -> tuple[int, dict]:
        made = await batch.create_batch(tenant, runtime, spec=spec, items=items, caller=who)
        return 201, await batch.progress_of(made)

    return await respond_idempotent(request, action)


@bp.get("/envelope-batches/<batch_id:str>")
@openapi.summary("A batch's progress: items by status, envelopes by state, first failures")
@openapi.secured("AppSignature")
@authenticated
async def batch_read(request: Request, batch_id: str) -> HTTPResponse:
    return json(await batch.progress_of(await batch.get_batch(request.ctx.tenant, batch_id)))


@bp.post("/envelope-batches/<batch_id:str>/terminate")
@openapi.summary("Terminate a batch: pending items stop, open envelopes are voided")
@openapi.body({"application/json": Reason.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def batch_terminate(request: Request, batch_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, Reason)
    runtime, tenant = _ctx(request)
    return json(await batch.terminate(tenant, runtime, batch_id, reason=body.reason,
                                      actor=caller(request).actor))


@bp.post("/batch-sign/intent")
@openapi.summary("One intent confirmation for a person signing many envelopes")
@openapi.body({"application/json": BatchSignIntent.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def batch_sign_intent(request: Request) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, BatchSignIntent)
    runtime, tenant = _ctx(request)
    return json(await batch_sign.start(tenant, runtime, person_id=body.person_id,
                                       envelope_ids=body.envelope_ids, method=body.method,
                                       client_ip=client_ip(request)), status=201)


@bp.post("/batch-sign")
@openapi.summary("Sign every listed envelope with one confirmed intent and one signature")
@openapi.body({"application/json": BatchSignBody.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def batch_sign_all(request: Request) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, BatchSignBody)
    runtime, tenant = _ctx(request)
    png = await signature_png(body.signature)
    result = await batch_sign.sign_all(tenant, runtime, person_id=body.person_id,
                                       envelope_ids=body.envelope_ids, intent_id=body.intent_id,
                                       signature_png=png, ip=client_ip(request),
                                       device=_device(request))
    for item in result["results"]:
        if item["status"] == "signed":
            await flow.run_silent_steps(tenant, runtime, item["envelope_id"])
    return json(result, status=201)


@bp.post("/agents/<agent_ref:str>/lapse")
@openapi.summary("An agent's licence lapsed or agreement ended: revoke grants, stop envelopes")
@openapi.body({"application/json": Reason.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def agent_lapse(request: Request, agent_ref: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, Reason)
    runtime, tenant = _ctx(request)
    return json(await agents.lapse_agent(tenant, runtime, agent_ref[:64], reason=body.reason,
                                         actor=caller(request).actor))
