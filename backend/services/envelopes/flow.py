"""Moving an envelope forward: send it, open the next stage when one is done, complete it,
and run the silent steps (company seals) of an open stage.

Stages run in order; the signers of one stage are ``ready`` together (parallel). Opening a stage
notifies its persons (a signing link by SMS) and its approvers; company signers of an open stage
seal silently [静默签署] as soon as their seal is chosen.
"""
from __future__ import annotations

import logging

from tortoise.transactions import in_transaction

from backend.models.envelope import Envelope, EnvelopeSigner
from backend.models.tenant import Tenant
from backend.services.envelopes.state import get_envelope, now, show, transition

log = logging.getLogger(__name__)


async def send(tenant: Tenant, runtime, envelope_id: str, *, actor: str) -> dict:
    async with in_transaction("default"):
        envelope = await get_envelope(tenant, envelope_id, lock=True)
        await transition(envelope, runtime, "sent", actor=actor)
        await open_next_stage(envelope, runtime, actor=actor)
    await run_silent_steps(tenant, runtime, str(envelope.id))
    return await show(await get_envelope(tenant, envelope_id))


async def open_next_stage(envelope: Envelope, runtime, *, actor: str) -> None:
    """Inside the caller's transaction (envelope locked): when no signer is ready or signing,
    make the lowest waiting stage ready, or complete the envelope when every signer is done."""
    signers = await EnvelopeSigner.filter(envelope_id=envelope.id).select_for_update()
    if any(s.status in ("ready", "signing") for s in signers):
        return
    waiting = [s for s in signers if s.status == "waiting"]
    if not waiting:
        if envelope.status in ("sent", "signing"):
            await transition(envelope, runtime, "completed", actor=actor)
        return
    stage = min(s.stage for s in waiting)
    opened = [s for s in waiting if s.stage == stage]
    await EnvelopeSigner.filter(id__in=[s.id for s in opened]).update(status="ready")
    if envelope.status == "sent" and stage > 1:
        await transition(envelope, runtime, "signing", actor=actor)
    from backend.services.envelopes.reminders import notify_ready
    for signer in opened:
        await notify_ready(envelope, signer, runtime)


async def mark_signing(envelope: Envelope, runtime, *, actor: str) -> None:
    """The first signature moves a sent envelope to signing (in the caller's transaction)."""
    if envelope.status == "sent":
        await transition(envelope, runtime, "signing", actor=actor)


async def run_silent_steps(tenant: Tenant, runtime, envelope_id: str, *,
                           raise_errors: bool = False) -> list[str]:
    """Seal for every ready company signer whose seal is chosen, stage after stage; returns
    the ids of the signers sealed. A seal that cannot be used (revoked, grant lapsed) leaves
    its signer ready with the error noted (raised with ``raise_errors``: the resume call); the
    person whose signature came before keeps it."""
    from backend.errors import AppError
    from backend.services.envelopes.company_sign import seal_for_signer

    from backend.services.envelopes.sign_step import recover_stale_claims

    sealed: list[str] = []
    await recover_stale_claims(runtime, envelope_id)
    while True:
        envelope = await Envelope.get(id=envelope_id)
        if envelope.status not in ("sent", "signing"):
            return sealed
        due = await EnvelopeSigner.filter(envelope_id=envelope.id, kind="company",
                                          status="ready").exclude(seal_id="")
        if not due:
            return sealed
        progressed = False
        for signer in due:
            try:
                if await seal_for_signer(tenant, runtime, envelope, signer):
                    sealed.append(str(signer.id))
                    progressed = True
            except AppError as exc:
                await _note_failure(signer, exc)
                if raise_errors:
                    raise
        if not progressed:
            return sealed


async def _note_failure(signer: EnvelopeSigner, exc) -> None:
    from backend import audit

    log.warning("silent seal of signer %s failed: %s %s", signer.id, exc.code, exc.message)
    await EnvelopeSigner.filter(id=signer.id).update(comment=f"{exc.code}: {exc.message}"[:300])
    await audit.record("envelope.seal.failed", f"envelope:{signer.envelope_id}",
                       result="refused", actor=f"seal:{signer.seal_id}",
                       details={"signer": str(signer.id), "code": exc.code})


async def release_stale_claims(runtime, older_than_seconds: int = 60) -> int:
    """Envelopes with a signer claimed by a process that died: give the claim back and run
    their silent steps again (the housekeeping, every minute)."""
    import datetime as dt

    from backend.services.envelopes.sign_step import recover_stale_claims

    cutoff = now() - dt.timedelta(seconds=older_than_seconds)
    stuck = await EnvelopeSigner.filter(status="signing", claimed_at__lt=cutoff) \
        .values_list("envelope_id", flat=True)
    released = 0
    for envelope_id in set(stuck):
        if await recover_stale_claims(runtime, envelope_id):
            released += 1
            envelope = await Envelope.get(id=envelope_id)
            tenant = await Tenant.get(id=envelope.tenant_id)
            await run_silent_steps(tenant, runtime, str(envelope_id))
    return released
