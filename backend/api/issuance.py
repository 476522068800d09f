"""Bulk issuance [批量出单]: ``POST /api/v1/templates/{id}/issue`` fills, seals and stores up to
100 e-policies in one request (``backend/services/issue_policies.py``)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.api.bodies import StrictBody, parse_json
from backend.api.documents import SealDocument
from backend.api.idempotent import respond_idempotent
from backend.api.middleware import authenticated, client_ip
from backend.api.templates import Signer, caller
from backend.services import document_lifecycle, issue_policies
from backend.services.seals.use import SealUseRefused

bp = Blueprint("issuance", url_prefix="/api/v1")


class IssueItem(StrictBody):
    params: dict[str, Any]
    title: str = Field("", max_length=200)
    business_no: str = Field("", max_length=64)
    policy_no: str = Field("", max_length=64, description="default: params.policy_no")
    signers: list[Signer] = Field(default_factory=list, max_length=20)
    retention_until: dt.date | None = None

    model_config = {**StrictBody.model_config, "strict": False}


class Issue(StrictBody):
    items: list[IssueItem] = Field(..., min_length=1, max_length=issue_policies.MAX_ITEMS)
    seal: SealDocument
    device: str = Field("", max_length=300)


@bp.post("/templates/<template_id:str>/issue")
@openapi.summary("Issue e-policies in bulk: fill, seal and store up to 100 in one transaction "
                 "(all or nothing; use an Idempotency-Key)")
@openapi.body({"application/json": Issue.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def template_issue(request: Request, template_id: str) -> HTTPResponse:
    body, who = parse_json(request.content_type, request.body, Issue), caller(request)
    s = body.seal
    choice = issue_policies.SealChoice(
        seal_id=s.seal_id, company_name=s.company_name, user_ref=s.user_ref, role=s.role,
        page=s.page, rect=s.rect, keyword=s.keyword, size=s.size, flow=s.flow,
        roles=tuple(s.roles), unit_ref=s.unit_ref, device=s.device, region=s.region)
    items = [issue_policies.PolicyItem(
        params=i.params, title=i.title, business_no=i.business_no, policy_no=i.policy_no,
        signers=tuple(x.model_dump() for x in i.signers), retention_until=i.retention_until)
        for i in body.items]

    batch: list[issue_policies.Batch] = []

    async def prepare() -> None:  # the PDF work, before the Idempotency-Key transaction
        batch.append(await issue_policies.prepare(
            request.ctx.tenant, request.app.ctx.runtime, who, template_id, items, choice,
            ip=client_ip(request), device=body.device))

    async def action() -> tuple[int, dict]:
        docs = await issue_policies.store(batch[0])
        return 201, {"items": [document_lifecycle.present_document(d) for d in docs]}

    try:
        return await respond_idempotent(request, action, prepare)
    except SealUseRefused as refused:  # rolled back with the request: log the attempts now
        await issue_policies.log_refusal(request.ctx.tenant, request.app.ctx.runtime, refused)
        raise
