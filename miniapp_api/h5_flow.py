"""The H5 signing flow of one signing link [H5签署]: what the mobile page at
``/h5/links/<id>/start`` calls through ``/h5/api/links/<id>/...``.

A link is bound to one signer of one envelope (``link.envelope_ref`` / ``link.signer_ref``), so a
person only ever reaches their own signer: no envelope or signer id comes from the browser. The
document (pages, PDF), its clauses and changes are shown only after the signer's identity check
passed. Every step is the envelope service's own (``person_sign``, ``intent``, ``decide``); this
module only resolves the link and guards what the page may see.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from backend.errors import Conflict
from backend.ids import parse_uuid
from backend.models.envelope import Envelope, EnvelopeSigner
from backend.models.identity import IntentChallenge
from backend.models.signing_link import SigningLink
from backend.models.tenant import Tenant
from backend.services import file_store, intent, signing_links
from backend.services.envelopes import decide, flow, person_sign
from backend.services.envelopes.errors import SignerAlreadyDone, SignerKindInvalid
from backend.services.envelopes.sign_step import current_pdf
from backend.services.envelopes.state import get_envelope, get_signer
from miniapp_api import handwriting, pages

#: Largest sign request body of the H5 page (strokes or PNG); bigger is SIGNATURE_TOO_LARGE.
MAX_SIGNATURE_BYTES = 2 * 1024 * 1024


class IdentityFirst(Conflict):
    code, message = "IDENTITY_CHECK_REQUIRED", "pass the identity check before viewing the document"


@dataclasses.dataclass
class LinkContext:
    link: SigningLink
    tenant: Tenant
    envelope: Envelope
    signer: EnvelopeSigner

    @property
    def identity_passed(self) -> bool:
        return self.signer.identity_checked_at is not None


async def resolve(link_id: str) -> LinkContext:
    """The usable link and its envelope and signer (a person), or a stable error:
    LINK_NOT_FOUND / LINK_EXPIRED / LINK_REVOKED, ENVELOPE_NOT_FOUND, SIGNER_NOT_FOUND."""
    link = await signing_links.get_usable_link(link_id)
    tenant = await Tenant.get(id=link.tenant_id)
    envelope = await get_envelope(tenant, link.envelope_ref)
    signer = await get_signer(envelope, link.signer_ref)
    if signer.kind != "person":
        raise SignerKindInvalid("this link is not for a person signer")
    return LinkContext(link, tenant, envelope, signer)


def require_identity(ctx: LinkContext) -> None:
    if not ctx.identity_passed:
        raise IdentityFirst(details={"methods": ctx.signer.identity_methods})


def _step(ctx: LinkContext) -> str:
    envelope, signer = ctx.envelope, ctx.signer
    if signer.status == "signed":
        return "done"
    if signer.status in ("rejected", "stopped") or envelope.status not in ("sent", "signing"):
        return "closed"
    if signer.status == "waiting":
        return "waiting"
    if not ctx.identity_passed:
        return "identity"
    if any(c["id"] not in signer.clauses_acked for c in envelope.clauses):
        return "clauses"
    return "intent" if signer.intent_method != "none" else "sign"


async def state(runtime, ctx: LinkContext, base: str) -> dict[str, Any]:
    """What the page shows; the document's content only after the identity check."""
    envelope, signer = ctx.envelope, ctx.signer
    out: dict[str, Any] = {
        "link_id": str(ctx.link.id),
        "envelope": {"title": envelope.title, "status": envelope.status,
                     "doc_type": envelope.doc_type, "business_no": envelope.business_no,
                     "deadline_at": envelope.deadline_at.isoformat()
                     if envelope.deadline_at else None},
        "signer": {"role": signer.role, "name": signer.name_masked or ctx.link.signer_name_masked,
                   "status": signer.status, "identity_methods": signer.identity_methods,
                   "identity_checked": ctx.identity_passed,
                   "intent_method": signer.intent_method,
                   "clauses_acknowledged": list(signer.clauses_acked),
                   "signed_at": signer.signed_at.isoformat() if signer.signed_at else None,
                   "comment": signer.comment},
        "step": _step(ctx),
        "clauses": [], "changes": [], "page_count": None, "document_url": None,
    }
    if ctx.identity_passed:
        _, pdf = await current_pdf(runtime, envelope)
        out["clauses"] = [{"id": c["id"], "title": c.get("title", ""), "text": c.get("text", ""),
                           "acknowledged": c["id"] in signer.clauses_acked}
                          for c in envelope.clauses]
        out["changes"] = [{"field": c.get("field", ""), "label": c.get("label") or
                           c.get("field", ""), "old": c.get("old", ""), "new": c.get("new", "")}
                          for c in envelope.changes]
        out["page_count"] = await file_store.run(pages.page_count, pdf)
        out["document_url"] = f"{base}/document.pdf"
    return out


async def check_identity(runtime, ctx: LinkContext, *, face_session: str = "", ip: str = "",
                         device: str = "") -> dict[str, Any]:
    _not_signed(ctx)
    result = await person_sign.check_identity(ctx.tenant, runtime, ctx.envelope, ctx.signer,
                                              face_session=face_session, ip=ip, device=device)
    return {"identity_checked": bool(result.get("identity_checked")),
            "methods": [d.get("kind") for d in result.get("done", [])],
            "face_session": result.get("face_session")}


async def page_png(runtime, ctx: LinkContext, number: int) -> bytes:
    require_identity(ctx)
    _, pdf = await current_pdf(runtime, ctx.envelope)
    return await file_store.run(pages.render_page, pdf, number, 750)


async def document_pdf(runtime, ctx: LinkContext) -> tuple[bytes, str]:
    require_identity(ctx)
    _, pdf = await current_pdf(runtime, ctx.envelope)
    return pdf, ctx.envelope.business_no or str(ctx.envelope.id)


async def acknowledge(ctx: LinkContext, clause_id: str, *, shown_seconds: float, ip: str = "",
                      device: str = "") -> list[str]:
    require_identity(ctx)
    _not_signed(ctx)
    return await person_sign.acknowledge_clause(ctx.envelope, ctx.signer, clause_id,
                                                shown_seconds=shown_seconds, ip=ip,
                                                device=device)


async def start_intent(runtime, ctx: LinkContext, *, ip: str = "") -> dict[str, Any]:
    require_identity(ctx)
    _not_signed(ctx)
    started = await person_sign.start_intent(ctx.tenant, runtime, ctx.envelope, ctx.signer,
                                             client_ip=ip)
    return {k: started[k] for k in ("id", "method", "expires_at", "sent_to", "face_session")
            if k in started}


async def _own_challenge(ctx: LinkContext, intent_id: str) -> IntentChallenge:
    """Only a challenge started for this signer's signing can be answered through its link."""
    challenge = await IntentChallenge.get_or_none(
        id=parse_uuid(intent_id, intent.IntentNotFound), tenant_id=ctx.tenant.id)
    if challenge is None or challenge.person_id != ctx.signer.person_id or \
            challenge.purpose != person_sign.intent_purpose(ctx.envelope, ctx.signer):
        raise intent.IntentNotFound()
    return challenge


async def confirm_intent(runtime, ctx: LinkContext, intent_id: str, *, code: str | None = None,
                         password: str | None = None, ip: str = "") -> dict[str, Any]:
    require_identity(ctx)
    _not_signed(ctx)
    challenge = await _own_challenge(ctx, intent_id)
    face = runtime.identity().face if challenge.method == "face" else None
    done = await intent.confirm_intent(ctx.tenant, runtime, intent_id=intent_id, code=code,
                                       password=password, face=face, client_ip=ip)
    return {"id": done["id"], "method": done["method"], "confirmed": done["confirmed"]}


async def signature_png(*, strokes: Any = None, png: bytes | None = None,
                        ink: str = "black") -> bytes:
    """Strokes or a picture → the normalised signature (blank, scribbles, huge refused)."""
    if strokes is not None:
        return await file_store.run(handwriting.render_strokes, strokes, ink=ink)
    if png:
        return await file_store.run(handwriting.normalise_png, png, ink=ink)
    raise handwriting.SignatureBlank("draw the signature (strokes) or send png_base64")


async def sign(runtime, ctx: LinkContext, *, intent_id: str | None, strokes: Any = None,
               png: bytes | None = None, ink: str = "black", ip: str = "", device: str = "",
               base: str = "") -> dict[str, Any]:
    """Checks the turn (SIGNER_ALREADY_SIGNED, SIGNER_NOT_READY ...) before drawing the
    signature, signs, then lets a following company stage seal silently."""
    require_identity(ctx)
    _not_signed(ctx)
    await person_sign.check_ready_to_sign(runtime, ctx.envelope, ctx.signer)
    signature = await signature_png(strokes=strokes, png=png, ink=ink)
    await person_sign.sign(ctx.tenant, runtime, ctx.envelope, ctx.signer, intent_id=intent_id,
                           signature_png=signature, ip=ip, device=device)
    await flow.run_silent_steps(ctx.tenant, runtime, str(ctx.envelope.id))
    envelope = await Envelope.get(id=ctx.envelope.id)
    signer = await EnvelopeSigner.get(id=ctx.signer.id)
    return {"signer_status": signer.status, "envelope_status": envelope.status,
            "signed_at": signer.signed_at.isoformat() if signer.signed_at else None,
            "download_url": f"{base}/document.pdf"}


async def reject(runtime, ctx: LinkContext, *, comment: str, ip: str = "",
                 device: str = "") -> dict[str, Any]:
    require_identity(ctx)
    _not_signed(ctx)
    await decide.reject(ctx.tenant, runtime, str(ctx.envelope.id), str(ctx.signer.id),
                        comment=comment, ip=ip, device=device)
    envelope = await Envelope.get(id=ctx.envelope.id)
    return {"signer_status": "rejected", "envelope_status": envelope.status}


def _not_signed(ctx: LinkContext) -> None:
    if ctx.signer.status == "signed":
        raise SignerAlreadyDone()

