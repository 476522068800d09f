"""The part every signature of an envelope shares: claim the signer, serialise signatures on the
envelope's document, and commit the signed revision together with the signer's new state, the
callback, the metering and the next stage.

Exactly once: a signer moves ready → signing by one conditional UPDATE (only one caller wins);
the signed file, the revision and ``signed`` commit in one transaction, so a process that dies
in between leaves the signer ``signing`` with nothing stored, and ``recover_stale_claims`` gives
it back.
"""
from __future__ import annotations

import contextlib
from typing import Any, AsyncIterator

from tortoise.transactions import in_transaction

from backend.errors import Conflict
from backend.models.document import Document
from backend.models.envelope import Envelope, EnvelopeSigner
from backend.models.tenant import Tenant
from backend.services import callbacks_outbox as outbox
from backend.services import document_lifecycle, file_store
from backend.services.envelopes.errors import (EnvelopeExpired, EnvelopeStateInvalid,
                                               SignerAlreadyDone, SignerNotReady)
from backend.services.envelopes.flow import mark_signing, open_next_stage
from backend.services.envelopes.state import event_data, now


LOCK_SECONDS = 30  # a signature holds it for milliseconds; a dead holder's lock expires


class SignerBusy(Conflict):
    code, message = "SIGNER_BUSY", "this signer's signature is being made; try again shortly"


def check_open(envelope: Envelope) -> None:
    if envelope.status not in ("sent", "signing"):
        raise EnvelopeStateInvalid(f"the envelope is {envelope.status}",
                                   details={"status": envelope.status})
    if envelope.deadline_at is not None and envelope.deadline_at <= now():
        raise EnvelopeExpired()


def check_turn(signer: EnvelopeSigner) -> None:
    if signer.status in ("signed",):
        raise SignerAlreadyDone()
    if signer.status == "signing":
        raise SignerBusy()
    if signer.status != "ready":
        raise SignerNotReady(details={"status": signer.status, "stage": signer.stage})


async def claim(signer: EnvelopeSigner) -> None:
    """ready → signing by one conditional UPDATE; only under the envelope's signing lock."""
    won = await EnvelopeSigner.filter(id=signer.id, status="ready").update(
        status="signing", claimed_at=now())
    if not won:
        check_turn(await EnvelopeSigner.get(id=signer.id))
        raise SignerBusy()


async def release(signer: EnvelopeSigner) -> None:
    await EnvelopeSigner.filter(id=signer.id, status="signing").update(status="ready",
                                                                      claimed_at=None)


def _lock_name(envelope_id) -> str:
    return f"envelope-sign:{envelope_id}"


@contextlib.asynccontextmanager
async def signing_turn(runtime, envelope: Envelope, signer: EnvelopeSigner) -> AsyncIterator[None]:
    """Take the envelope's signing lock, then claim the signer; on any error the claim is
    released (nothing was committed). A live claim therefore always holds the lock: a
    ``signing`` signer whose envelope lock is free was left by a dead process."""
    async with runtime.cache.lock(_lock_name(envelope.id), ttl=LOCK_SECONDS, wait=60):
        await claim(signer)
        try:
            yield
        except BaseException:
            await release(signer)
            raise


async def recover_stale_claims(runtime, envelope_id) -> int:
    """Give back the claims of a process that died mid-signature (see ``signing_turn``)."""
    from backend.cache import LockTimeout

    if not await EnvelopeSigner.filter(envelope_id=envelope_id, status="signing").exists():
        return 0
    try:
        async with runtime.cache.lock(_lock_name(envelope_id), ttl=LOCK_SECONDS, wait=0.2):
            return await EnvelopeSigner.filter(envelope_id=envelope_id, status="signing") \
                .update(status="ready", claimed_at=None)
    except LockTimeout:
        return 0


async def current_pdf(runtime, envelope: Envelope) -> tuple[Document, bytes]:
    doc = await Document.get(id=envelope.document_id)
    return doc, await file_store.get(runtime, doc.current_sha256)


async def placement_for(doc: Document, pdf: bytes, position: dict[str, Any], role: str):
    """A signer's ``position`` (template role, page + rect, or keyword) resolved in ``pdf``."""
    rect = tuple(position["rect"]) if position.get("rect") else None
    return await document_lifecycle.placement_in(
        doc, pdf, role=position.get("role") or role, page=position.get("page"), rect=rect,
        keyword=position.get("keyword"), size=float(position.get("size") or 120.0))


async def commit_signature(tenant: Tenant, runtime, envelope: Envelope, signer: EnvelopeSigner,
                           doc: Document, pdf: bytes, *, kind: str, actor: str,
                           events: list[tuple[str, dict[str, Any]]], ip: str = "",
                           device: str = "", meter=None) -> Document:
    """Store the signed revision and move the signer to signed, atomically."""
    async with in_transaction("default"):
        locked = await Envelope.filter(id=envelope.id).select_for_update().first()
        row = await EnvelopeSigner.filter(id=signer.id).select_for_update().first()
        if row.status != "signing":
            raise SignerAlreadyDone()
        check_open(locked)
        updated = await document_lifecycle.add_revision(
            doc, runtime, pdf, kind=kind, actor=actor, status="signing", ip=ip, device=device,
            events=events)
        row.status, row.signed_at, row.signed_sha256 = "signed", now(), updated.current_sha256
        await row.save(update_fields=["status", "signed_at", "signed_sha256"])
        if meter is not None:
            await meter()
        await mark_signing(locked, runtime, actor=actor)
        await outbox.emit(tenant, runtime, "signer.signed",
                          event_data(locked, signer_id=str(row.id), role=row.role,
                                     kind=row.kind, sha256=updated.current_sha256))
        await open_next_stage(locked, runtime, actor=actor)
    return updated
