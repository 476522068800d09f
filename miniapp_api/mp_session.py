"""The WeChat mini-program entry point [微信小程序]: login, the person's own envelopes, and a
signing link that opens the H5 flow in the mini-program's ``web-view``.

1. ``login``: the ``wx.login()`` code goes through ``code2session`` (``wechat_login``, wechatpy);
   the phone number from ``getPhoneNumber`` (encrypted with the session key) is decrypted and
   bound to the openid (in the cache, ``BIND_SECONDS``), so a later login needs the code only.
   The answer is a session token (``mps_`` + 43 url-safe characters) kept in the cache as its
   SHA-256 for ``WECHAT_MINI_SESSION_SECONDS``. Neither the phone number nor the session key is
   stored: the session holds the phone's blind index and its masked form.
2. ``envelopes`` / ``envelope``: the envelopes (not drafts) of the tenant where a person whose
   mobile blind index is the bound phone's is a signer; anyone else's envelope is 404, exactly
   like a missing one.
3. ``issue_link``: a fresh signing link (``signing_links.issue_link``) for the person's own
   signer; the mini-program opens ``/s/<token>`` in a web-view and walks the H5 page, so the
   signing steps are the H5 flow's, never duplicated here.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import os
import secrets
import time
from typing import Any

from tortoise.transactions import in_transaction

from backend import audit
from backend.auth import TenantDisabled
from backend.errors import NotFound, ServiceUnavailable, Unauthorized, ValidationFailed
from backend.fieldcrypt import mask
from backend.ids import parse_uuid
from backend.models.envelope import Envelope, EnvelopeSigner
from backend.models.identity import Person
from backend.models.tenant import Tenant
from backend.services import signing_links
from backend.services.envelopes.errors import EnvelopeNotFound, SignerNotFound
from backend.validation import validate_mobile
from miniapp_api.wechat_login import PhoneDataInvalid, WeChatMiniProgram

TOKEN_PREFIX = "mps_"
#: How long an openid stays bound to the phone number it last proved (a login then needs the
#: code only); proving a phone again re-binds.
BIND_SECONDS = 30 * 86400
#: Lifetime of a signing link handed to the mini-program's web-view.
LINK_TTL_HOURS = 1
MAX_LISTED = 200
#: Signer states in which it is that signer's turn.
TURN_STATES = ("ready", "signing")


class WeChatNotConfigured(ServiceUnavailable):
    code, message = "WECHAT_NOT_CONFIGURED", \
        "the WeChat mini-program is not configured (WECHAT_APP_ID, WECHAT_APP_SECRET)"


class MpSessionRequired(Unauthorized):
    code, message = "MP_SESSION_REQUIRED", "send Authorization: Bearer <mini-program session token>"


class MpSessionInvalid(Unauthorized):
    code, message = "MP_SESSION_INVALID", \
        "log in again: the mini-program session is missing or expired"


class MpPhoneRequired(Unauthorized):
    code, message = "WECHAT_PHONE_REQUIRED", \
        "this WeChat account has no bound phone number: log in with getPhoneNumber's data"


class MpTenantRequired(ValidationFailed):
    code, message = "MP_TENANT_REQUIRED", "name the tenant of the mini-program (tenant)"


class MpTenantNotFound(NotFound):
    code, message = "TENANT_NOT_FOUND", "unknown tenant"


@dataclasses.dataclass(frozen=True)
class MpSession:
    tenant_id: str
    openid: str
    unionid: str | None
    mobile_index: str
    mobile_masked: str
    expires_at: float

    def to_dict(self) -> dict[str, Any]:
        return {"tenant_id": self.tenant_id, "openid": self.openid, "mobile": self.mobile_masked,
                "expires_at": _iso(self.expires_at)}


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isoformat()


def _session_key(token: str) -> str:
    return "mp:session:" + hashlib.sha256(token.encode()).hexdigest()


def _bind_key(tenant_id: str, openid: str) -> str:
    return f"mp:bind:{tenant_id}:{hashlib.sha256(openid.encode()).hexdigest()}"


def mini_program(runtime) -> WeChatMiniProgram:
    """The mini-program's WeChat client from notify's settings (WECHAT_APP_ID, ...); one per
    process and configuration, so that its access token is reused."""
    from notify.wechat import DEFAULT_API_BASE

    env = os.environ if runtime.environ is None else runtime.environ
    app_id, secret = env.get("WECHAT_APP_ID", ""), env.get("WECHAT_APP_SECRET", "")
    if not (app_id and secret):
        raise WeChatNotConfigured()
    return _client(app_id, secret, env.get("WECHAT_API_BASE") or DEFAULT_API_BASE,
                   float(env.get("NOTIFY_TIMEOUT_SECONDS") or 5))


@functools.lru_cache(maxsize=4)
def _client(app_id: str, secret: str, api_base: str, timeout: float) -> WeChatMiniProgram:
    return WeChatMiniProgram(app_id, secret, api_base=api_base, timeout=timeout)


async def _tenant(runtime, named: str | None) -> Tenant:
    pinned = runtime.settings.wechat_mini_tenant_id
    if pinned and named and named != pinned:
        raise MpTenantNotFound()
    tenant_id = pinned or named
    if not tenant_id:
        raise MpTenantRequired()
    tenant = await Tenant.get_or_none(id=parse_uuid(tenant_id, MpTenantNotFound))
    if tenant is None:
        raise MpTenantNotFound()
    if not tenant.is_active:
        raise TenantDisabled()
    return tenant


async def login(runtime, code: str, *, phone_code: str | None = None,
                encrypted_data: str | None = None, iv: str | None = None,
                tenant: str | None = None) -> tuple[str, MpSession]:
    """code (+ the phone number: getPhoneNumber's code, or its encrypted data) → a new session
    token and its session."""
    owner = await _tenant(runtime, tenant)
    if bool(encrypted_data) != bool(iv):
        raise PhoneDataInvalid("send both encrypted_data and iv (or neither)")
    if phone_code and encrypted_data:
        raise PhoneDataInvalid("send phone_code or encrypted_data, not both")
    wechat = mini_program(runtime)
    mini = await wechat.code_to_session(code)
    cache, bind_key = runtime.cache, _bind_key(str(owner.id), mini.openid)
    if phone_code or encrypted_data:
        phone = await wechat.phone_number(phone_code) if phone_code else \
            wechat.decrypt_phone(mini.session_key, encrypted_data or "", iv or "")
        try:
            mobile = validate_mobile(phone)
        except ValidationFailed:
            raise PhoneDataInvalid("the bound phone number is not a mainland mobile number") \
                from None
        bound = {"mobile_index": runtime.cipher.blind_index(mobile, "mobile"),
                 "mobile_masked": mask(mobile, 3, 4)}
        await cache.set(bind_key, json.dumps(bound).encode(), BIND_SECONDS)
        await audit.record("mp.phone.bind", f"wechat:{mini.openid}", tenant_id=str(owner.id),
                           actor=f"wechat:{mini.openid}",
                           details={"mobile": bound["mobile_masked"]})
    else:
        raw = await cache.get(bind_key)
        if raw is None:
            await audit.record("mp.session.open", f"wechat:{mini.openid}", result="refused",
                               tenant_id=str(owner.id), details={"reason": "no bound phone"})
            raise MpPhoneRequired()
        bound = json.loads(raw)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ttl = runtime.settings.wechat_mini_session_seconds
    session = MpSession(str(owner.id), mini.openid, mini.unionid, bound["mobile_index"],
                        bound["mobile_masked"], time.time() + ttl)
    await cache.set(_session_key(token), json.dumps(dataclasses.asdict(session)).encode(), ttl)
    await audit.record("mp.session.open", f"wechat:{mini.openid}", tenant_id=str(owner.id),
                       actor=f"wechat:{mini.openid}",
                       details={"mobile": session.mobile_masked, "via": "wechat_mini"})
    return token, session


async def authenticate(runtime, header: str) -> MpSession:
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise MpSessionRequired()
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        raise MpSessionInvalid()
    raw = await runtime.cache.get(_session_key(token))
    if raw is None:
        raise MpSessionInvalid()
    session = MpSession(**json.loads(raw))
    if session.expires_at <= time.time():
        raise MpSessionInvalid()
    tenant = await Tenant.get_or_none(id=session.tenant_id)
    if tenant is None or not tenant.is_active:
        raise TenantDisabled()
    return session


async def logout(runtime, header: str) -> None:
    await authenticate(runtime, header)
    await runtime.cache.delete(_session_key(header.partition(" ")[2].strip()))


async def _person_ids(session: MpSession) -> list[Any]:
    return list(await Person.filter(tenant_id=session.tenant_id,
                                    mobile_index=session.mobile_index)
                .values_list("id", flat=True))


def _visible(session: MpSession, person_ids: list[Any]):
    return Envelope.filter(tenant_id=session.tenant_id, signers__kind="person",
                           signers__person_id__in=person_ids).exclude(status="draft")


def _signer_name(signer: EnvelopeSigner) -> str:
    return signer.name_masked or signer.company_name or signer.role


def present(envelope: Envelope, signers: list[EnvelopeSigner], person_ids: set,
            *, full: bool = False) -> dict[str, Any]:
    def mine(s: EnvelopeSigner) -> bool:
        return s.kind == "person" and s.person_id in person_ids

    own = sorted((s for s in signers if mine(s)), key=lambda s: (s.stage, s.role))
    turn = sorted((s for s in signers if s.status in TURN_STATES), key=lambda s: (s.stage, s.role))
    body: dict[str, Any] = {
        "id": str(envelope.id), "title": envelope.title, "doc_type": envelope.doc_type,
        "business_no": envelope.business_no, "status": envelope.status,
        "created_at": envelope.created_at.isoformat() if envelope.created_at else None,
        "deadline_at": envelope.deadline_at.isoformat() if envelope.deadline_at else None,
        "completed_at": envelope.completed_at.isoformat() if envelope.completed_at else None,
        "my_signers": [{"id": str(s.id), "role": s.role, "stage": s.stage, "status": s.status,
                        "signed_at": s.signed_at.isoformat() if s.signed_at else None}
                       for s in own],
        "my_turn": envelope.status in ("sent", "signing")
        and any(s.status in TURN_STATES for s in own),
        "waiting_for": [{"role": s.role, "kind": s.kind, "name": _signer_name(s),
                         "stage": s.stage, "mine": mine(s)} for s in turn]
        if envelope.status in ("sent", "signing") else []}
    if full:
        body["changes"] = envelope.changes
        body["clause_count"] = len(envelope.clauses or [])
        body["signers"] = [{"role": s.role, "kind": s.kind, "name": _signer_name(s),
                            "stage": s.stage, "status": s.status, "mine": mine(s)}
                           for s in sorted(signers, key=lambda s: (s.stage, s.role))]
    return body


async def envelopes(session: MpSession, *, limit: int = MAX_LISTED) -> list[dict[str, Any]]:
    """The envelopes where the person is a signer, newest first (``limit`` at most 200)."""
    person_ids = await _person_ids(session)
    if not person_ids:
        return []
    rows = await _visible(session, person_ids).distinct().order_by("-created_at") \
        .limit(max(1, min(limit, MAX_LISTED)))
    signers: dict[Any, list[EnvelopeSigner]] = {}
    for signer in await EnvelopeSigner.filter(envelope_id__in=[e.id for e in rows]):
        signers.setdefault(signer.envelope_id, []).append(signer)
    ids = set(person_ids)
    return [present(e, signers.get(e.id, []), ids) for e in rows]


async def _own_envelope(session: MpSession, envelope_id: str) -> tuple[Envelope, list, set]:
    person_ids = await _person_ids(session)
    envelope = None
    if person_ids:
        envelope = await _visible(session, person_ids).filter(
            id=parse_uuid(envelope_id, EnvelopeNotFound)).distinct().first()
    if envelope is None:
        raise EnvelopeNotFound()
    return envelope, await EnvelopeSigner.filter(envelope_id=envelope.id), set(person_ids)


async def envelope(session: MpSession, envelope_id: str) -> dict[str, Any]:
    found, signers, ids = await _own_envelope(session, envelope_id)
    return present(found, signers, ids, full=True)


async def issue_link(runtime, session: MpSession, envelope_id: str,
                     signer_id: str | None = None) -> dict[str, Any]:
    """A fresh signing link for the person's own signer (``signer_id``, or the one whose turn it
    is, else the first): the mini-program's web-view opens ``url`` (the H5 page)."""
    found, signers, ids = await _own_envelope(session, envelope_id)
    own = sorted((s for s in signers if s.kind == "person" and s.person_id in ids),
                 key=lambda s: (s.status not in TURN_STATES, s.stage, s.role))
    if signer_id is not None:
        own = [s for s in own if str(s.id) == signer_id]
        if not own:
            raise SignerNotFound()
    signer = own[0]
    tenant = await Tenant.get(id=session.tenant_id)
    async with in_transaction("default"):
        issued = await signing_links.issue_link(tenant, str(found.id), str(signer.id),
                                                signer.name_masked, LINK_TTL_HOURS)
        await audit.record("mp.link.issue", f"link:{issued.link.id}", tenant_id=str(tenant.id),
                           actor=f"wechat:{session.openid}",
                           details={"envelope": str(found.id), "signer": str(signer.id)})
    link = issued.to_dict(runtime.settings.base_url)
    return {"url": link["url"], "path": f"/s/{issued.token}", "link_id": link["id"],
            "expires_at": link["expires_at"], "envelope_id": str(found.id),
            "signer_id": str(signer.id), "signer_status": signer.status}
