"""Notifications, reminders and expiry: a signer whose turn comes gets a signing link by SMS;
reminders repeat it for signers still pending near the deadline; past the deadline the envelope
expires and its pending signers are stopped."""
from __future__ import annotations

import datetime as dt
import logging

from tortoise.transactions import in_transaction

from backend.models.envelope import Envelope, EnvelopeSigner
from backend.models.identity import Person
from backend.models.tenant import Tenant
from backend.services import signing_links
from backend.services.envelopes.state import now

log = logging.getLogger(__name__)


async def notify_ready(envelope: Envelope, signer: EnvelopeSigner, runtime) -> str | None:
    """Issue the signer's link and queue the SIGN_LINK SMS (caller's transaction); returns
    the message id, or None when the signer is not a person with a mobile number."""
    if signer.kind != "person" or signer.person_id is None:
        return None
    person = await Person.get(id=signer.person_id)
    if not person.mobile_enc:
        return None
    tenant = await Tenant.get(id=envelope.tenant_id)
    issued = await signing_links.issue_link(tenant, str(envelope.id), str(signer.id),
                                            person.name, runtime.settings.signing_link_ttl_hours)
    url = issued.to_dict(runtime.settings.base_url)["url"]
    mobile = runtime.cipher.decrypt(person.mobile_enc, "person.mobile")
    message = await signing_links.send_link_by_sms(tenant, runtime, issued, url, mobile,
                                                   envelope.title)
    return str(message.id)


async def remind(tenant: Tenant, runtime, envelope_id: str) -> list[str]:
    """Send the pending (ready) persons a fresh link now; returns the message ids."""
    from backend.services.envelopes.sign_step import check_open
    from backend.services.envelopes.state import get_envelope

    async with in_transaction("default"):
        envelope = await get_envelope(tenant, envelope_id, lock=True)
        check_open(envelope)
        ready = await EnvelopeSigner.filter(envelope_id=envelope.id, status="ready")
        sent = [m for s in ready if (m := await notify_ready(envelope, s, runtime))]
        envelope.reminded_at = now()
        await envelope.save(update_fields=["reminded_at"])
    return sent


async def expire_overdue(runtime, limit: int = 500) -> int:
    """Envelopes past their deadline become expired (each in its own transaction)."""
    from backend.services.envelopes.decide import end_open

    overdue = await Envelope.filter(status__in=("sent", "signing"), deadline_at__lt=now()) \
        .limit(limit).values_list("id", flat=True)
    return sum([await end_open(runtime, envelope_id, "expired", actor="system:deadline",
                               reason="the signing deadline passed",
                               still=lambda envelope: envelope.deadline_at < now())
                for envelope_id in overdue])


async def send_due_reminders(runtime, within_hours: int = 24, limit: int = 500) -> int:
    """Once a day per envelope: remind pending persons when the deadline is within a day."""
    soon = now() + dt.timedelta(hours=within_hours)
    yesterday = now() - dt.timedelta(hours=24)
    due = await Envelope.filter(status__in=("sent", "signing"), deadline_at__lt=soon,
                                deadline_at__gt=now()).limit(limit)
    count = 0
    for envelope in due:
        if envelope.reminded_at and envelope.reminded_at > yesterday:
            continue
        tenant = await Tenant.get(id=envelope.tenant_id)
        count += len(await remind(tenant, runtime, str(envelope.id)))
    return count
