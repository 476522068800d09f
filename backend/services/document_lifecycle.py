"""A document's life after it is made: access grants, company seal, new signed revisions,
voiding and superseding (each step in the evidence chain and the operation log, in the same
transaction as the change)."""
from __future__ import annotations

import datetime as dt
import io
from typing import Any

from tortoise.transactions import in_transaction

from backend import audit
from backend.errors import Conflict, ValidationFailed
from backend.models.document import Document, DocumentAccess, DocumentRevision
from backend.models.tenant import Tenant
from backend.services import evidence, file_store
from backend.services.documents_query import Caller, get_document
from documents.template import TemplateDef


class DocumentStateInvalid(Conflict):
    code = "DOCUMENT_STATE_INVALID"


class SignPositionUnknown(ValidationFailed):
    code = "SIGN_POSITION_UNKNOWN"


FINAL = ("voided", "superseded")


def present_document(doc: Document) -> dict[str, Any]:
    return {"id": str(doc.id), "title": doc.title, "doc_type": doc.doc_type,
            "business_no": doc.business_no, "policy_no": doc.policy_no, "unit": doc.unit_ref,
            "status": doc.status,
            "template": {"code": doc.template_code, "version": doc.template_version_number}
            if doc.template_code else None,
            "current": {"sha256": doc.current_sha256, "sm3": doc.current_sm3,
                        "size": doc.current_size},
            "original": {"sha256": doc.original_sha256, "sm3": doc.original_sm3,
                         "size": doc.original_size},
            "signers": doc.signers, "short_code": doc.short_code,
            "retention_until": doc.retention_until.isoformat() if doc.retention_until else None,
            "created_by": doc.created_by, "created_at": doc.created_at.isoformat(),
            "updated_at": doc.updated_at.isoformat(),
            "voided_at": doc.voided_at.isoformat() if doc.voided_at else None,
            "void_reason": doc.void_reason,
            "superseded_by": str(doc.superseded_by) if doc.superseded_by else None}


def present_revision(rev: DocumentRevision) -> dict[str, Any]:
    return {"number": rev.number, "kind": rev.kind, "sha256": rev.sha256, "sm3": rev.sm3,
            "size": rev.size, "actor": rev.actor, "created_at": rev.created_at.isoformat()}


async def grant_access(tenant: Tenant, caller: Caller, document_id: str, *, grantee_type: str,
                       grantee_ref: str, ip: str = "") -> DocumentAccess:
    doc = await get_document(tenant, caller, document_id)
    async with in_transaction("default"):
        grant, created = await DocumentAccess.get_or_create(
            document=doc, grantee_type=grantee_type, grantee_ref=grantee_ref,
            defaults={"granted_by": caller.actor})
        if created:
            await evidence.append(doc.id, "access_granted", actor=caller.actor, ip=ip,
                                  payload={"grantee_type": grantee_type,
                                           "grantee_ref": grantee_ref})
            await audit.record("document.grant", f"document:{doc.id}", actor=caller.actor,
                               details={"grantee_type": grantee_type,
                                        "grantee_ref": grantee_ref})
    return grant


async def add_revision(doc: Document, runtime, pdf: bytes, *, kind: str, actor: str,
                       status: str, ip: str = "", device: str = "",
                       events: list[tuple[str, dict[str, Any]]] = ()) -> Document:
    """Store new content (e.g. after a signature) as the current one; the original stays."""
    ref = await file_store.put(runtime, pdf)
    async with in_transaction("default") as conn:
        locked = await Document.filter(id=doc.id).select_for_update().using_db(conn).first()
        if locked.status in FINAL:
            raise DocumentStateInvalid(f"the document is {locked.status}")
        last = await DocumentRevision.filter(document_id=doc.id).using_db(conn) \
            .order_by("-number").first()
        await DocumentRevision.create(document_id=doc.id, number=last.number + 1, kind=kind,
                                      sha256=ref.sha256, sm3=ref.sm3, size=ref.size,
                                      actor=actor, using_db=conn)
        await Document.filter(id=doc.id).using_db(conn).update(
            current_sha256=ref.sha256, current_sm3=ref.sm3, current_size=ref.size,
            status=status, updated_at=dt.datetime.now(dt.timezone.utc))
        for kind_, payload in events:
            await evidence.append(doc.id, kind_, actor=actor, ip=ip, device=device,
                                  payload={**payload, "sha256": ref.sha256, "sm3": ref.sm3})
        await audit.record(f"document.{kind}", f"document:{doc.id}", actor=actor,
                           details={"sha256": ref.sha256, "unit_id": doc.unit_ref})
    return await Document.get(id=doc.id)


def resolve_placement(pdf: bytes, definition: dict, role: str | None, page: int | None,
               rect: tuple | None, keyword: str | None, size: float):
    """Seal placement: explicit rect/keyword, or the template's signing position for ``role``
    (keyword + offset resolved to a rect)."""
    import pikepdf

    from backend.services.seals.seal_document import Placement
    from sign.pdf.text import find_keyword

    if rect is not None or keyword is not None:
        return Placement(page=page or 1, rect=rect, keyword=keyword, size=size)
    if not definition or role is None:
        raise SignPositionUnknown("give rect, keyword or a role of the document's template")
    tpl = TemplateDef.from_dict(definition)
    pos = next((s for s in tpl.sign_positions if s.role == role), None)
    if pos is None:
        raise SignPositionUnknown(f"the template has no signing position for role {role!r}")
    if pos.rect is not None:
        return Placement(page=pos.page or 1, rect=pos.rect, size=pos.rect[2])
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        pages = [pos.page - 1] if pos.page else range(len(doc.pages))
        hits = find_keyword(doc, pos.keyword, pages)
    if not hits:
        raise SignPositionUnknown(f"keyword {pos.keyword!r} not found")
    pi, (x0, y0, x1, y1) = hits[-1] if pos.occurrence == "last" else hits[0]
    w, h = pos.size
    cx, cy = (x0 + x1) / 2 + pos.offset[0], (y0 + y1) / 2 + pos.offset[1]
    return Placement(page=pi + 1, rect=(cx - w / 2, cy - h / 2, w, h), size=w)


async def placement_in(doc: Document, pdf: bytes, *, role: str | None, page: int | None = None,
                       rect: tuple | None = None, keyword: str | None = None,
                       size: float = 120.0):
    """Where a signature goes in ``pdf`` (the content of ``doc``): explicit, or the signing
    position of ``role`` in the template version the document was made from."""
    definition = {}
    if doc.template_version_id:
        from backend.models.template import TemplateVersion
        definition = (await TemplateVersion.get(id=doc.template_version_id)).definition
    return await file_store.run(resolve_placement, pdf, definition, role, page, rect, keyword, size)


async def seal(tenant: Tenant, runtime, caller: Caller, document_id: str, *, seal_id: str,
               company_name: str, role: str | None = None, page: int | None = None,
               rect: tuple | None = None, keyword: str | None = None, size: float = 120.0,
               use_request=None, ip: str = "", device: str = "") -> Document:
    """Apply a company seal (grant check, use log, certificate signature) to the current
    content; the result becomes the current revision (status ``signed``)."""
    from backend.services.seals.seal_document import seal_document

    doc = await get_document(tenant, caller, document_id)
    if doc.status in FINAL:
        raise DocumentStateInvalid(f"the document is {doc.status}")
    current = await file_store.get(runtime, doc.current_sha256)
    placement = await placement_in(doc, current, role=role, page=page, rect=rect,
                                   keyword=keyword, size=size)
    sealed = await seal_document(tenant, runtime, seal_id=seal_id, company_name=company_name,
                                 pdf=current, placement=placement, use=use_request)
    return await add_revision(
        doc, runtime, sealed.pdf, kind="sealed", actor=caller.actor, status="signed", ip=ip,
        device=device,
        events=[("seal_use", {"seal_id": seal_id, "use_id": sealed.use_id, "role": role or ""}),
                ("signature", {"company": company_name, "algorithms": list(sealed.algorithms),
                               "role": role or ""})])


async def submit_signed(tenant: Tenant, runtime, caller: Caller, document_id: str, pdf: bytes, *,
                        final: bool, ip: str = "", device: str = "") -> Document:
    """A signing flow hands back the signed file: it must extend the current content (an
    incremental update) and every signature in it must be intact."""
    from sign.verify import verify

    doc = await get_document(tenant, caller, document_id)
    current = await file_store.get(runtime, doc.current_sha256)
    if not pdf.startswith(current):
        raise ValidationFailed("the signed file must be an incremental update of the current one",
                               code="SIGNED_FILE_NOT_INCREMENTAL")
    report = await file_store.run(verify, pdf)
    if not report.signatures or not all(s.intact and s.crypto_valid for s in report.signatures):
        raise ValidationFailed("the signed file's signatures do not verify",
                               code="SIGNED_FILE_INVALID")
    new = report.signatures[len(report.signatures) - 1]
    events = [("signature", {"field": new.field_name, "algorithm": new.algorithm,
                             "signer": new.signer.subject if new.signer else "",
                             "signing_time": new.signing_time.isoformat()
                             if new.signing_time else None})]
    stamp = new.timestamp
    if stamp is not None and stamp.time is not None:
        events.append(("timestamp", {"field": new.field_name, "time": stamp.time.isoformat(),
                                     "tsa": stamp.tsa or "", "imprint_ok": stamp.imprint_ok,
                                     "signature_ok": stamp.signature_ok}))
    return await add_revision(
        doc, runtime, pdf, kind="signed", actor=caller.actor,
        status="signed" if final else "signing", ip=ip, device=device, events=events)


async def void(tenant: Tenant, caller: Caller, document_id: str, *, reason: str,
               superseded_by: str | None = None, ip: str = "") -> Document:
    doc = await get_document(tenant, caller, document_id)
    successor = await get_document(tenant, caller, superseded_by) if superseded_by else None
    target = "superseded" if successor else "voided"
    async with in_transaction("default") as conn:
        locked = await Document.filter(id=doc.id).select_for_update().using_db(conn).first()
        if locked.status in FINAL:
            raise DocumentStateInvalid(f"the document is already {locked.status}")
        now = dt.datetime.now(dt.timezone.utc)
        await Document.filter(id=doc.id).using_db(conn).update(
            status=target, voided_at=now, void_reason=reason[:300],
            superseded_by=successor.id if successor else None, updated_at=now)
        await evidence.append(doc.id, target, actor=caller.actor, ip=ip,
                              payload={"reason": reason[:300],
                                       "superseded_by": str(successor.id) if successor else None})
        await audit.record(f"document.{'supersede' if successor else 'void'}",
                           f"document:{doc.id}", actor=caller.actor,
                           details={"reason": reason[:200], "unit_id": doc.unit_ref})
    return await Document.get(id=doc.id)
