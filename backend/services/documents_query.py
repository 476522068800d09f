"""Finding documents [文件中心 查询] and who may see them.

A document is visible to the acting person (``Caller``: user ref, roles, unit, named by the
business system in ``X-Operator`` / ``X-Operator-Roles`` / ``X-Operator-Unit``) when the caller
is in the owner unit (or a unit above it in the synced organisation), is one of its signers, or
holds a grant (user, role or unit). Nobody else: another tenant's or an unauthorised caller's
document answers exactly like a missing one (404).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from tortoise.expressions import Q, Subquery

from backend.errors import NotFound, ValidationFailed
from backend.ids import parse_uuid
from backend.models.document import DOCUMENT_STATES, Document, DocumentAccess
from backend.models.org import Unit
from backend.models.tenant import Tenant


class DocumentNotFound(NotFound):
    code, message = "DOCUMENT_NOT_FOUND", "no such document"


@dataclasses.dataclass(frozen=True)
class Caller:
    user_ref: str
    roles: tuple[str, ...] = ()
    unit_ref: str = ""

    @property
    def actor(self) -> str:
        return f"user:{self.user_ref}"


async def _units_below(tenant_id: Any, unit_ref: str) -> list[str]:
    """The caller's unit and, when it is a synced unit (push id), every unit below it."""
    if not unit_ref:
        return []
    rows = await Unit.filter(tenant_id=tenant_id).values_list("id", "parent_id", "push_id")
    by_push = {push: str(uid) for uid, _, push in rows if push}
    push_of = {str(uid): push for uid, _, push in rows if push}
    children: dict[str, list[str]] = {}
    for uid, parent, _ in rows:
        if parent:
            children.setdefault(str(parent), []).append(str(uid))
    found, stack = [unit_ref], [by_push[unit_ref]] if unit_ref in by_push else []
    while stack:
        current = stack.pop()
        for child in children.get(current, []):
            if child in push_of and push_of[child] not in found:
                found.append(push_of[child])
            stack.append(child)
    return found


async def visibility(tenant: Tenant, caller: Caller) -> Q:
    units = await _units_below(tenant.id, caller.unit_ref)
    grants = Q(grantee_type__in=("user", "signer"), grantee_ref=caller.user_ref)
    if caller.roles:
        grants |= Q(grantee_type="role", grantee_ref__in=list(caller.roles))
    if caller.unit_ref:
        grants |= Q(grantee_type="unit", grantee_ref=caller.unit_ref)
    q = Q(id__in=Subquery(DocumentAccess.filter(grants).values("document_id")))
    if units:
        q |= Q(unit_ref__in=units)
    return q


async def get_document(tenant: Tenant, caller: Caller, document_id: str) -> Document:
    doc_id = parse_uuid(document_id, DocumentNotFound)
    doc = await Document.filter(await visibility(tenant, caller), id=doc_id,
                                tenant_id=tenant.id).first()
    if doc is None:
        raise DocumentNotFound()
    return doc


def _time(name: str, raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"{name} must be an ISO date or date-time",
                               code="QUERY_INVALID") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


async def search(tenant: Tenant, caller: Caller, args: Any, *, limit: int = 50,
                 offset: int = 0) -> dict[str, Any]:
    """Filters: business_no, policy_no, signer, status, doc_type, unit, template, since, until,
    retention_before (documents whose retention ends before that date)."""
    query = Document.filter(await visibility(tenant, caller), tenant_id=tenant.id)
    for name, column in (("business_no", "business_no"), ("policy_no", "policy_no"),
                         ("doc_type", "doc_type"), ("type", "doc_type"), ("unit", "unit_ref"),
                         ("template", "template_code")):
        value = args.get(name)
        if value:
            if len(value) > 64:
                raise ValidationFailed(f"{name} is too long", code="QUERY_INVALID")
            query = query.filter(**{column: value})
    status = args.get("status")
    if status:
        if status not in DOCUMENT_STATES:
            raise ValidationFailed(f"status must be one of {', '.join(DOCUMENT_STATES)}",
                                   code="QUERY_INVALID")
        query = query.filter(status=status)
    signer = args.get("signer")
    if signer:
        query = query.filter(id__in=Subquery(DocumentAccess.filter(
            grantee_type="signer", grantee_ref=signer).values("document_id")))
    since, until = _time("since", args.get("since")), _time("until", args.get("until"))
    if since:
        query = query.filter(created_at__gte=since)
    if until:
        query = query.filter(created_at__lt=until)
    retention = args.get("retention_before")
    if retention:
        try:
            query = query.filter(retention_until__lt=dt.date.fromisoformat(retention))
        except ValueError:
            raise ValidationFailed("retention_before must be a date yyyy-mm-dd",
                                   code="QUERY_INVALID") from None
    total = await query.count()
    rows = await query.order_by("-created_at", "id").offset(offset).limit(limit)
    return {"total": total, "items": rows}
