"""Single sign-on by a signed ticket, for in-house business systems [票据单点登录].

``ticket = base64url(JSON payload) "." base64url(signature)`` where the payload is
``{"iss": <tenant app key>, "sub": <user's business-system id>, "exp": <unix seconds>,
"jti": <unique id, 8-128 chars>, "alg": "HS256" | "SM2"}`` and the signature covers the first
part (the base64url text, as sent):

* ``HS256``: HMAC-SHA256 keyed with the tenant's app secret (the one that signs API calls);
* ``SM2``: an SM2 signature (DER, default user id) by the key whose public half is configured for
  the tenant in ``SSO_TICKET_SM2_KEYS``. A tenant with an SM2 key accepts SM2 tickets only.

A ticket is valid until ``exp`` (at most ``SSO_TICKET_MAX_LIFETIME_SECONDS`` ahead) and once: its
``jti`` is recorded (``UsedTicket``, unique) in the same transaction as the session, so a replay
fails with ``401 TICKET_REPLAYED`` even when the two uses race.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend import audit
from backend.errors import Unauthorized
from backend.fieldcrypt import FieldCipher
from backend.models.admin import UsedTicket
from backend.models.org import User
from backend.models.tenant import Tenant
from backend.services import admin_sessions
from backend.services.sso_oidc import b64url, b64url_decode

MAX_TICKET_LENGTH = 4096


class TicketInvalid(Unauthorized):
    code, message = "TICKET_INVALID", "the sign-on ticket is malformed or its signature is wrong"


class TicketExpired(Unauthorized):
    code, message = "TICKET_EXPIRED", "the sign-on ticket has expired"


class TicketReplayed(Unauthorized):
    code, message = "TICKET_REPLAYED", "the sign-on ticket was already used"


class TicketUserUnknown(Unauthorized):
    code, message = "SSO_USER_UNKNOWN", "no active user of this tenant matches the ticket"


def sm2_keys(raw: str) -> dict[str, str]:
    keys = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        app_key, _, hex_key = part.partition(":")
        keys[app_key] = hex_key
    return keys


def sign_hs256(payload: dict[str, Any], secret: str) -> str:
    """Build a ticket (what a business system does; used by tests and the client)."""
    head = b64url(json.dumps({**payload, "alg": "HS256"}, separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), head.encode(), hashlib.sha256).digest()
    return f"{head}.{b64url(mac)}"


def _decode(ticket: str) -> tuple[dict[str, Any], str, bytes]:
    if not isinstance(ticket, str) or len(ticket) > MAX_TICKET_LENGTH or ticket.count(".") != 1:
        raise TicketInvalid()
    head, sig = ticket.split(".")
    try:
        payload = json.loads(b64url_decode(head))
        signature = b64url_decode(sig)
    except (ValueError, UnicodeDecodeError):
        raise TicketInvalid() from None
    if not isinstance(payload, dict):
        raise TicketInvalid()
    for name in ("iss", "sub", "jti", "alg"):
        if not isinstance(payload.get(name), str) or not payload[name]:
            raise TicketInvalid(f"the ticket lacks {name}")
    if not (8 <= len(payload["jti"]) <= 128) or not isinstance(payload.get("exp"), int) \
            or isinstance(payload.get("exp"), bool):
        raise TicketInvalid("the ticket's jti or exp is malformed")
    return payload, head, signature


def _verify_signature(payload: dict[str, Any], head: str, signature: bytes, tenant: Tenant,
                      cipher: FieldCipher, sm2_public_hex: str | None) -> None:
    alg = payload["alg"]
    if sm2_public_hex:
        if alg != "SM2":
            raise TicketInvalid("this tenant's tickets must be SM2-signed")
        from sign.crypto.sm2 import SM2PublicKey

        try:
            ok = SM2PublicKey.from_bytes(bytes.fromhex(sm2_public_hex)).verify(
                signature, head.encode())
        except Exception:  # noqa: BLE001 - malformed signature or key: not valid
            ok = False
        if not ok:
            raise TicketInvalid()
        return
    if alg != "HS256":
        raise TicketInvalid(f"ticket algorithm {alg!r} is not allowed")
    secret = cipher.decrypt(tenant.app_secret_enc, "tenant.app_secret")
    expected = hmac.new(secret.encode(), head.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise TicketInvalid()


async def sign_in(runtime, ticket: str, ip: str = "") -> admin_sessions.OpenedSession:
    settings = runtime.settings
    payload, head, signature = _decode(ticket)
    tenant = await Tenant.get_or_none(app_key=payload["iss"][:64])
    if tenant is None or not tenant.is_active:
        raise TicketInvalid()
    _verify_signature(payload, head, signature, tenant, runtime.cipher,
                      sm2_keys(settings.sso_ticket_sm2_keys).get(tenant.app_key))
    now = time.time()
    if payload["exp"] <= now:
        await _refused(tenant, payload, "expired")
        raise TicketExpired()
    if payload["exp"] > now + settings.sso_ticket_max_lifetime_seconds:
        await _refused(tenant, payload, "lifetime_too_long")
        raise TicketInvalid("the ticket lives longer than SSO_TICKET_MAX_LIFETIME_SECONDS")
    user = await User.get_or_none(tenant_id=tenant.id, push_id=payload["sub"][:64])
    if user is None or user.status != "active":
        await _refused(tenant, payload, "unknown or disabled user")
        raise TicketUserUnknown()
    try:
        async with in_transaction("default"):
            await UsedTicket.create(jti=f"{tenant.id}:{payload['jti']}", tenant=tenant,
                                    expires_at=dt.datetime.fromtimestamp(payload["exp"],
                                                                         dt.timezone.utc))
            return await admin_sessions.open_session(user, "ticket",
                                                     settings.session_ttl_seconds, ip)
    except IntegrityError:
        await _refused(tenant, payload, "replayed")
        raise TicketReplayed() from None


async def _refused(tenant: Tenant, payload: dict[str, Any], reason: str) -> None:
    await audit.record("session.open", "", result="refused", tenant_id=str(tenant.id),
                       details={"via": "ticket", "reason": reason, "jti": payload["jti"][:128]})


async def purge_used(now: dt.datetime | None = None) -> int:
    """Forget used tickets past their expiry (they can no longer be replayed)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return await UsedTicket.filter(expires_at__lt=now - dt.timedelta(minutes=5)).delete()
