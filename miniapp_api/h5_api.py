"""JSON API of the H5 signing page: ``/h5/api/links/<link_id>/...``, authenticated by the
link's session cookie (set when ``/s/<token>`` was opened). Thin handlers over ``h5_flow``."""
from __future__ import annotations

import base64
import re
from typing import Any, Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json, raw
from sanic_ext import openapi

from backend.api.bodies import StrictBody, parse_json
from backend.api.middleware import client_ip
from backend.api.templates import pdf_response
from backend.errors import ValidationFailed
from miniapp_api import h5_flow, handwriting, session
from miniapp_api.h5 import SessionRequired
from miniapp_api.pages import PageOutOfRange

bp = Blueprint("h5_api", url_prefix="/h5/api/links")
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class IdentityBody(StrictBody):
    face_session: str = Field("", max_length=128)


class AckBody(StrictBody):
    shown_seconds: float = Field(..., ge=0, le=86400)

    model_config = {**StrictBody.model_config, "strict": False}


class ConfirmBody(StrictBody):
    intent_id: str = Field(..., max_length=64)
    code: str | None = Field(None, max_length=16)
    password: str | None = Field(None, max_length=128)


class SignBody(StrictBody):
    intent_id: str | None = Field(None, max_length=64)
    strokes: list[Any] | None = Field(None, description="[[{x, y, t, p}, ...], ...]")
    png_base64: str | None = None
    ink: Literal["black", "blue"] = "black"


class RejectBody(StrictBody):
    comment: str = Field("", max_length=300)


def _base(link_id: str) -> str:
    return f"/h5/api/links/{link_id}"


def _device(request: Request) -> str:
    return request.headers.get("User-Agent", "")[:300]


async def _context(request: Request, link_id: str) -> h5_flow.LinkContext:
    """The link this browser's session is bound to (403 otherwise), resolved to its signer."""
    bound = session.link_of(request.app.ctx.runtime.session_key,
                            request.cookies.get(session.COOKIE_NAME))
    if bound is None or bound != link_id:
        raise SessionRequired()
    return await h5_flow.resolve(link_id)


def _json(body: Any, status: int = 200) -> HTTPResponse:
    return json(body, status=status, headers=NO_STORE)


@bp.get("/<link_id:str>/state")
@openapi.summary("H5: the signer's envelope, progress and (after identity) clauses, changes, pages")
async def h5_state(request: Request, link_id: str) -> HTTPResponse:
    ctx = await _context(request, link_id)
    return _json(await h5_flow.state(request.app.ctx.runtime, ctx, _base(link_id)))


@bp.post("/<link_id:str>/identity")
@openapi.summary("H5: run the signer's identity check (face: start, then finish with face_session)")
@openapi.body({"application/json": IdentityBody.model_json_schema()})
async def h5_identity(request: Request, link_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body or b"{}", IdentityBody)
    ctx = await _context(request, link_id)
    return _json(await h5_flow.check_identity(
        request.app.ctx.runtime, ctx, face_session=body.face_session, ip=client_ip(request),
        device=_device(request)))


@bp.get("/<link_id:str>/pages/<page_name:str>")
@openapi.summary("H5: page N of the document as a PNG (pages/<n>.png), after identity")
async def h5_page(request: Request, link_id: str, page_name: str) -> HTTPResponse:
    match = re.fullmatch(r"(\d{1,4})\.png", page_name)
    if not match:
        raise PageOutOfRange()
    ctx = await _context(request, link_id)
    png = await h5_flow.page_png(request.app.ctx.runtime, ctx, int(match.group(1)))
    return raw(png, content_type="image/png", headers=NO_STORE)


@bp.get("/<link_id:str>/document.pdf")
@openapi.summary("H5: the document as it is now (signed PDF once signed), after identity")
async def h5_document(request: Request, link_id: str) -> HTTPResponse:
    ctx = await _context(request, link_id)
    pdf, name = await h5_flow.document_pdf(request.app.ctx.runtime, ctx)
    return pdf_response(pdf, name)


@bp.post("/<link_id:str>/clauses/<clause_id:str>/ack")
@openapi.summary("H5: the exemption clause was shown for shown_seconds and acknowledged")
@openapi.body({"application/json": AckBody.model_json_schema()})
async def h5_ack(request: Request, link_id: str, clause_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, AckBody)
    ctx = await _context(request, link_id)
    acked = await h5_flow.acknowledge(ctx, clause_id[:32], shown_seconds=body.shown_seconds,
                                      ip=client_ip(request), device=_device(request))
    return _json({"clauses_acknowledged": acked})


@bp.post("/<link_id:str>/intent")
@openapi.summary("H5: start the intent confirmation (SMS code sent, or password/face asked)")
async def h5_intent(request: Request, link_id: str) -> HTTPResponse:
    ctx = await _context(request, link_id)
    return _json(await h5_flow.start_intent(request.app.ctx.runtime, ctx,
                                            ip=client_ip(request)), status=201)


@bp.post("/<link_id:str>/intent/confirm")
@openapi.summary("H5: answer the intent confirmation with the SMS code or signing password")
@openapi.body({"application/json": ConfirmBody.model_json_schema()})
async def h5_intent_confirm(request: Request, link_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, ConfirmBody)
    ctx = await _context(request, link_id)
    return _json(await h5_flow.confirm_intent(request.app.ctx.runtime, ctx, body.intent_id,
                                              code=body.code, password=body.password,
                                              ip=client_ip(request)))


@bp.post("/<link_id:str>/sign")
@openapi.summary("H5: sign with the handwritten signature (strokes or PNG) after the intent")
@openapi.body({"application/json": SignBody.model_json_schema()})
async def h5_sign(request: Request, link_id: str) -> HTTPResponse:
    if len(request.body or b"") > h5_flow.MAX_SIGNATURE_BYTES:
        raise handwriting.SignatureTooLarge()
    body = parse_json(request.content_type, request.body, SignBody)
    ctx = await _context(request, link_id)
    png = None
    if body.png_base64:
        try:
            png = base64.b64decode(body.png_base64, validate=True)
        except ValueError:
            raise ValidationFailed("png_base64 is not base64", code="BASE64_INVALID") from None
    done = await h5_flow.sign(request.app.ctx.runtime, ctx, intent_id=body.intent_id,
                              strokes=body.strokes, png=png, ink=body.ink, ip=client_ip(request),
                              device=_device(request), base=_base(link_id))
    return _json(done, status=201)


@bp.post("/<link_id:str>/reject")
@openapi.summary("H5: the person refuses to sign (with a comment); the envelope ends rejected")
@openapi.body({"application/json": RejectBody.model_json_schema()})
async def h5_reject(request: Request, link_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body or b"{}", RejectBody)
    ctx = await _context(request, link_id)
    return _json(await h5_flow.reject(request.app.ctx.runtime, ctx, comment=body.comment,
                                      ip=client_ip(request), device=_device(request)))
