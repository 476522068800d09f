"""Register, list, read and disable a tenant's status-callback endpoints [状态回调]."""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from tortoise.transactions import in_transaction

from backend import audit
from backend.db import replica
from backend.errors import NotFound
from backend.ids import parse_uuid
from backend.fieldcrypt import FieldCipher
from backend.models.callback import CallbackEndpoint
from backend.models.tenant import Tenant

CALLBACK_EVENTS = (
    "envelope.sent", "envelope.signed", "envelope.completed", "envelope.rejected",
    "envelope.expired", "envelope.voided", "signer.signed", "seal.used",
    "envelope.created", "envelope.signing", "signer.approved", "batch.completed",
)


class CallbackNotFound(NotFound):
    code, message = "CALLBACK_NOT_FOUND", "no such callback endpoint"


def present(endpoint: CallbackEndpoint, secret: str | None = None) -> dict[str, Any]:
    body = {
        "id": str(endpoint.id), "url": endpoint.url, "events": endpoint.events,
        "description": endpoint.description, "created_at": endpoint.created_at.isoformat(),
        "disabled": endpoint.disabled_at is not None,
    }
    if secret is not None:
        body["secret"] = secret  # shown once, at creation
    return body


async def create_endpoint(tenant: Tenant, url: str, events: list[str], description: str,
                          cipher: FieldCipher) -> dict[str, Any]:
    """Must run inside the caller's transaction (the idempotency wrapper opens one)."""
    secret = secrets.token_urlsafe(32)
    endpoint = await CallbackEndpoint.create(
        tenant=tenant, url=url, events=sorted(set(events)), description=description,
        secret_enc=cipher.encrypt(secret, "callback.secret"))
    await audit.record("callback.create", f"callback:{endpoint.id}", details={"url": url})
    return present(endpoint, secret)


async def get_endpoint(tenant: Tenant, endpoint_id: str) -> CallbackEndpoint:
    parse_uuid(endpoint_id, CallbackNotFound)
    endpoint = await CallbackEndpoint.get_or_none(id=endpoint_id, tenant_id=tenant.id)
    if endpoint is None:  # another tenant's id looks exactly like a missing one
        raise CallbackNotFound()
    return endpoint


async def list_endpoints(tenant: Tenant, limit: int, offset: int) -> list[dict[str, Any]]:
    rows = await CallbackEndpoint.filter(tenant_id=tenant.id).using_db(replica()) \
        .order_by("created_at").offset(offset).limit(limit)
    return [present(row) for row in rows]


async def disable_endpoint(tenant: Tenant, endpoint_id: str) -> dict[str, Any]:
    async with in_transaction("default"):
        endpoint = await get_endpoint(tenant, endpoint_id)
        if endpoint.disabled_at is None:
            endpoint.disabled_at = dt.datetime.now(dt.timezone.utc)
            await endpoint.save(update_fields=["disabled_at"])
            await audit.record("callback.disable", f"callback:{endpoint.id}")
    return present(endpoint)
