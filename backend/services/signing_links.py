"""Signing links [签署链接]: short, unguessable, expiring, revocable, bound to one signer.

The token (22 url-safe characters, 132 bits from ``secrets``) is returned once and stored only
as its SHA-256. Opening a link never reveals the document: it starts that signer's identity check.
Issuing a new link for the same signer revokes the older ones.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from typing import Any

from tortoise.transactions import in_transaction

from backend import audit
from backend.errors import AppError, NotFound, ValidationFailed
from backend.fieldcrypt import mask
from backend.ids import parse_uuid
from backend.models.signing_link import SigningLink
from backend.models.tenant import Tenant

TOKEN_BYTES = 16 + 1  # token_urlsafe(17) -> 23 chars, 136 bits
MAX_TTL_HOURS = 24 * 30


class LinkNotFound(NotFound):
    code, message = "LINK_NOT_FOUND", "this signing link does not exist"


class LinkGone(AppError):
    code, status, message = "LINK_EXPIRED", 410, "this signing link has expired"


class LinkRevoked(LinkGone):
    code, message = "LINK_REVOKED", "this signing link was revoked; ask for a new one"


@dataclasses.dataclass(frozen=True)
class IssuedLink:
    link: SigningLink
    token: str

    def to_dict(self, public_base_url: str) -> dict[str, Any]:
        return {"id": str(self.link.id), "url": f"{public_base_url.rstrip('/')}/s/{self.token}",
                "expires_at": self.link.expires_at.isoformat(),
                "envelope_ref": self.link.envelope_ref, "signer_ref": self.link.signer_ref}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


async def issue_link(tenant: Tenant, envelope_ref: str, signer_ref: str, signer_name: str,
                     ttl_hours: int) -> IssuedLink:
    """Must run inside the caller's transaction (the idempotency wrapper opens one)."""
    if not (1 <= ttl_hours <= MAX_TTL_HOURS):
        raise ValidationFailed(f"ttl_hours must be 1 to {MAX_TTL_HOURS}", code="LINK_TTL_INVALID")
    now = _now()
    await SigningLink.filter(tenant_id=tenant.id, envelope_ref=envelope_ref, signer_ref=signer_ref,
                             revoked_at=None).update(revoked_at=now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = await SigningLink.create(
        tenant=tenant, token_hash=token_hash(token), envelope_ref=envelope_ref,
        signer_ref=signer_ref, signer_name_masked=mask(signer_name, 1, 0) if signer_name else "",
        expires_at=now + dt.timedelta(hours=ttl_hours))
    await audit.record("link.issue", f"link:{link.id}",
                       details={"envelope": envelope_ref, "signer": signer_ref})
    return IssuedLink(link, token)


async def send_link_by_sms(tenant: Tenant, runtime, issued: IssuedLink, url: str, mobile: str,
                           doc_title: str) -> Any:
    """Queue the SIGN_LINK SMS for an issued link (inside the issuing transaction)."""
    from backend.services.messages import queue_message
    from backend.validation import validate_mobile

    from backend.services import metering

    unit_ref, business_line = await metering.envelope_attribution(tenant.id,
                                                                  issued.link.envelope_ref)
    return await queue_message(
        tenant, runtime, channel="sms", recipient=validate_mobile(mobile), template="SIGN_LINK",
        params={"name": issued.link.signer_name_masked or "客户", "doc_title": doc_title or "文件",
                "url": url},
        idempotency_key=f"link:{issued.link.id}", unit_ref=unit_ref or None,
        business_line=business_line or None)


async def open_link(token: str) -> SigningLink:
    """Resolve a token from /s/<token>; count the opening as evidence."""
    if not (10 <= len(token) <= 64):
        raise LinkNotFound()
    async with in_transaction("default"):
        link = await SigningLink.get_or_none(token_hash=token_hash(token))
        if link is None:
            raise LinkNotFound()
        _check_usable(link)
        link.open_count += 1
        link.first_opened_at = link.first_opened_at or _now()
        await link.save(update_fields=["open_count", "first_opened_at"])
        await audit.record("link.open", f"link:{link.id}", tenant_id=str(link.tenant_id),
                           actor=f"signer:{link.signer_ref}")
    return link


def _check_usable(link: SigningLink) -> None:
    if link.revoked_at is not None:
        raise LinkRevoked()
    if link.expires_at <= _now():
        raise LinkGone()


async def get_usable_link(link_id: str) -> SigningLink:
    link = await SigningLink.get_or_none(id=parse_uuid(link_id, LinkNotFound))
    if link is None:
        raise LinkNotFound()
    _check_usable(link)
    return link


async def revoke_link(tenant: Tenant, link_id: str) -> dict[str, Any]:
    async with in_transaction("default"):
        link = await SigningLink.get_or_none(id=parse_uuid(link_id, LinkNotFound),
                                             tenant_id=tenant.id)
        if link is None:
            raise LinkNotFound()
        if link.revoked_at is None:
            link.revoked_at = _now()
            await link.save(update_fields=["revoked_at"])
            await audit.record("link.revoke", f"link:{link.id}")
    return {"id": str(link.id), "revoked_at": link.revoked_at.isoformat()}
