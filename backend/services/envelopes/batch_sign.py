"""One signer signs many envelopes after one intent confirmation [批量签署]: the intent is bound
to a digest of every (envelope, current document) pair, so it cannot be reused for another set;
each envelope is then signed in turn (and each may fail on its own: not ready, clauses ...)."""
from __future__ import annotations

import hashlib
from typing import Any

from backend.errors import AppError, ValidationFailed
from backend.models.document import Document
from backend.models.envelope import Envelope, EnvelopeSigner
from backend.models.tenant import Tenant
from backend.services import intent
from backend.services.envelopes import person_sign
from backend.services.envelopes.state import get_envelope

PURPOSE = "batch-sign"
MAX_ENVELOPES = 500


async def _pairs(tenant: Tenant, person_id: str,
                 envelope_ids: list[str]) -> list[tuple[Envelope, EnvelopeSigner, Document]]:
    if not 1 <= len(set(envelope_ids)) <= MAX_ENVELOPES:
        raise ValidationFailed(f"give 1 to {MAX_ENVELOPES} envelopes", code="BATCH_SIGN_INVALID")
    out = []
    for envelope_id in sorted(set(envelope_ids)):
        envelope = await get_envelope(tenant, envelope_id)
        signer = await EnvelopeSigner.filter(envelope_id=envelope.id, person_id=person_id,
                                             kind="person").order_by("stage").first()
        if signer is None:
            raise ValidationFailed("the person is not a signer of every envelope",
                                   code="BATCH_SIGN_INVALID",
                                   details={"envelope_id": envelope_id})
        out.append((envelope, signer, await Document.get(id=envelope.document_id)))
    return out


def digest(pairs) -> str:
    lines = "\n".join(f"{e.id}:{d.current_sha256}" for e, _, d in pairs)
    return hashlib.sha256(lines.encode()).hexdigest()


async def start(tenant: Tenant, runtime, *, person_id: str, envelope_ids: list[str],
                method: str, client_ip: str = "") -> dict[str, Any]:
    pairs = await _pairs(tenant, person_id, envelope_ids)
    started = await intent.start_intent(
        tenant, runtime, person_id=person_id, method=method, document_hash=digest(pairs),
        purpose=PURPOSE, client_ip=client_ip,
        face=runtime.identity().face if method == "face" else None)
    return {**started, "envelopes": len(pairs)}


async def sign_all(tenant: Tenant, runtime, *, person_id: str, envelope_ids: list[str],
                   intent_id: str, signature_png: bytes, ip: str = "",
                   device: str = "") -> dict[str, Any]:
    pairs = await _pairs(tenant, person_id, envelope_ids)
    challenge = await intent.confirmed_intent(tenant, intent_id, digest(pairs))
    if challenge.purpose != PURPOSE or str(challenge.person_id) != str(person_id):
        raise intent.IntentNotFound("the intent was confirmed for another signing")
    results = []
    for envelope, signer, _ in pairs:
        try:
            done = await person_sign.sign(tenant, runtime, envelope, signer, intent_id=intent_id,
                                          signature_png=signature_png, ip=ip, device=device,
                                          batch_purpose=PURPOSE)
            results.append({"envelope_id": str(envelope.id), "status": "signed", **done})
        except AppError as exc:
            results.append({"envelope_id": str(envelope.id), "status": "failed",
                            "code": exc.code, "message": exc.message})
    return {"signed": sum(r["status"] == "signed" for r in results), "results": results}
