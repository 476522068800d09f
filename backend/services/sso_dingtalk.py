"""DingTalk login for the mobile client [钉钉免登]: the app sends the ``authCode`` it got from
``dd.runtime.permission.requestAuthCode``; DingTalk resolves it to the ``userid`` (one use, five
minutes); the user of the DingTalk tenant with that ``dingtalk_id`` gets a session."""
from __future__ import annotations

from backend import audit
from backend.adapters import dingtalk_contacts
from backend.errors import Unauthorized
from backend.models.org import User
from backend.services import admin_sessions


class DingTalkUserUnknown(Unauthorized):
    code, message = "SSO_USER_UNKNOWN", "no active user matches this DingTalk account"


class DingTalkCodeRejected(Unauthorized):
    code, message = "DINGTALK_CODE_REJECTED", "DingTalk refused the login code"


async def sign_in(runtime, code: str, ip: str = "") -> admin_sessions.OpenedSession:
    settings = runtime.settings
    tenant_id = settings.dingtalk_sync_tenant_id
    if not tenant_id:
        raise dingtalk_contacts.DingTalkNotConfigured()
    async with dingtalk_contacts.from_settings(settings) as client:
        try:
            userid = await client.user_id_for_code(code)
        except dingtalk_contacts.DingTalkError as exc:
            if isinstance(exc, dingtalk_contacts.DingTalkUnavailable):
                raise
            await audit.record("session.open", "", result="refused", tenant_id=tenant_id,
                               details={"via": "dingtalk", "reason": exc.message[:200]})
            raise DingTalkCodeRejected() from None
    user = await User.get_or_none(tenant_id=tenant_id, dingtalk_id=userid)
    if user is None or user.status != "active":
        await audit.record("session.open", "", result="refused", tenant_id=tenant_id,
                           details={"via": "dingtalk", "reason": "unknown or disabled user"})
        raise DingTalkUserUnknown()
    return await admin_sessions.open_session(user, "dingtalk", settings.session_ttl_seconds, ip)
