"""Build the notification channels from plain settings (a dict, or the environment).

Each channel is real only when all its required settings are given; when none are given it
falls back to the shared :class:`~notify.local.LocalChannel` (demo: messages appear in the log
and on the demo page). Some but not all of a channel's required settings is an error naming the
missing ones, because a half-configured channel is always a mistake.

Settings (environment variables; empty means unset):

| Variable | Default | Meaning |
|---|---|---|
| `ALIYUN_ACCESS_KEY_ID` | `` | Aliyun AccessKey id for Dysmsapi (required for SMS) |
| `ALIYUN_ACCESS_KEY_SECRET` | `` | its secret (required for SMS) |
| `ALIYUN_SMS_SIGN_NAME` | `` | approved SMS sign name, e.g. `某某保险` (required for SMS) |
| `ALIYUN_SMS_TEMPLATES` | `` | our template -> approved Aliyun template code, `SIGN_LINK=SMS_100001,OTP_CODE=SMS_100002,SIGN_COMPLETED=SMS_100003` (required for SMS) |
| `ALIYUN_SMS_ENDPOINT` | `https://dysmsapi.aliyuncs.com` | Dysmsapi endpoint; `http://127.0.0.1:PORT` in tests |
| `WECHAT_APP_ID` | `` | mini program AppID (required for WeChat) |
| `WECHAT_APP_SECRET` | `` | mini program AppSecret (required for WeChat) |
| `WECHAT_TEMPLATES` | `{}` | JSON: `{"SIGN_LINK": {"template_id": "...", "fields": {"doc_title": "thing1", "name": "name2"}, "page": "pages/sign/index"}}` |
| `WECHAT_API_BASE` | `https://api.weixin.qq.com` | WeChat API base URL |
| `DINGTALK_APP_KEY` | `` | DingTalk internal app AppKey (required for DingTalk) |
| `DINGTALK_APP_SECRET` | `` | its AppSecret (required for DingTalk) |
| `DINGTALK_AGENT_ID` | `` | the app's AgentId, an integer (required for DingTalk) |
| `DINGTALK_API_BASE` | `https://oapi.dingtalk.com` | DingTalk API base URL |
| `SMTP_HOST` | `` | SMTP server (required for e-mail) |
| `SMTP_PORT` | `587` | SMTP port |
| `SMTP_USER` | `` | SMTP login; empty = no AUTH |
| `SMTP_PASSWORD` | `` | SMTP password |
| `SMTP_FROM` | `` | sender address, e.g. `电子签 <esign@example.com>` (required for e-mail) |
| `SMTP_STARTTLS` | `true` | upgrade the connection with STARTTLS before AUTH |
| `NOTIFY_TIMEOUT_SECONDS` | `5` | per-request timeout of the provider calls (SMTP gets twice this) |

Access tokens (WeChat, DingTalk) are cached per process unless a shared ``token_store`` is
passed (``wechatpy.session.redisstorage.RedisStorage`` over the deployment's Redis).
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Mapping

from notify.aliyun_sms import DEFAULT_ENDPOINT as ALIYUN_DEFAULT_ENDPOINT, AliyunSmsChannel
from notify.api import Channel, ResultStore, TokenStore
from notify.dingtalk import DEFAULT_API_BASE as DINGTALK_DEFAULT_BASE, DingTalkWorkNoticeChannel
from notify.email import SmtpEmailChannel
from notify.local import LocalChannel
from notify.templates import parse_mapping
from notify.wechat import DEFAULT_API_BASE as WECHAT_DEFAULT_BASE, WeChatSubscribeChannel, \
    WeChatTemplate

logger = logging.getLogger("notify.config")

REQUIRED: dict[str, tuple[str, ...]] = {
    "sms": ("ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_SMS_SIGN_NAME",
            "ALIYUN_SMS_TEMPLATES"),
    "wechat": ("WECHAT_APP_ID", "WECHAT_APP_SECRET"),
    "dingtalk": ("DINGTALK_APP_KEY", "DINGTALK_APP_SECRET", "DINGTALK_AGENT_ID"),
    "email": ("SMTP_HOST", "SMTP_FROM"),
}
TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


class NotifyConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class NotifyChannels:
    """The channels by name (``sms``, ``wechat``, ``dingtalk``, ``email``, ``local``)."""

    channels: Mapping[str, Channel]
    local: LocalChannel
    fallbacks: frozenset[str]
    """Names served by the local channel because they are not configured."""

    def __getitem__(self, name: str) -> Channel:
        return self.channels[name]

    async def aclose(self) -> None:
        for channel in {id(c): c for c in self.channels.values()}.values():
            await channel.aclose()


def build_channels(settings: Mapping[str, str] | None = None, *,
                   token_store: TokenStore | None = None,
                   results: ResultStore | None = None) -> NotifyChannels:
    """Build every channel from ``settings`` (default: ``os.environ``)."""
    env = {k: v.strip() for k, v in (os.environ if settings is None else settings).items()
           if isinstance(v, str)}
    local = LocalChannel(log_text=env.get("ENV", "development") != "production", results=results)
    builders = {"sms": _sms, "wechat": _wechat, "dingtalk": _dingtalk, "email": _email}
    channels: dict[str, Channel] = {"local": local}
    fallbacks: set[str] = set()
    for name, build in builders.items():
        if _configured(name, env):
            channels[name] = build(env, token_store, results)
        else:
            channels[name] = local
            fallbacks.add(name)
    if fallbacks:
        logger.warning("notify: %s not configured, using the local channel",
                       ", ".join(sorted(fallbacks)))
    return NotifyChannels(channels, local, frozenset(fallbacks))


def _configured(name: str, env: Mapping[str, str]) -> bool:
    given = [key for key in REQUIRED[name] if env.get(key)]
    if not given:
        return False
    missing = [key for key in REQUIRED[name] if not env.get(key)]
    if missing:
        raise NotifyConfigError(f"{name} channel: {', '.join(given)} set but "
                                f"{', '.join(missing)} missing")
    return True


def _timeout(env: Mapping[str, str]) -> float:
    return _number(env, "NOTIFY_TIMEOUT_SECONDS", "5", float)


def _number(env: Mapping[str, str], key: str, default: str, kind: type) -> float:
    try:
        value = kind(env.get(key) or default)
    except ValueError:
        raise NotifyConfigError(f"{key} must be a number, got {env.get(key)!r}") from None
    if value <= 0:
        raise NotifyConfigError(f"{key} must be positive")
    return value


def _sms(env: Mapping[str, str], _tokens: TokenStore | None,
         results: ResultStore | None) -> AliyunSmsChannel:
    try:
        templates = parse_mapping(env.get("ALIYUN_SMS_TEMPLATES", ""))
    except ValueError as exc:
        raise NotifyConfigError(f"ALIYUN_SMS_TEMPLATES: {exc}") from None
    return AliyunSmsChannel(
        env["ALIYUN_ACCESS_KEY_ID"], env["ALIYUN_ACCESS_KEY_SECRET"], env["ALIYUN_SMS_SIGN_NAME"],
        templates, endpoint=env.get("ALIYUN_SMS_ENDPOINT") or ALIYUN_DEFAULT_ENDPOINT,
        connect_timeout=min(_timeout(env), 3.0), read_timeout=_timeout(env), results=results)


def _wechat(env: Mapping[str, str], tokens: TokenStore | None,
            results: ResultStore | None) -> WeChatSubscribeChannel:
    return WeChatSubscribeChannel(
        env["WECHAT_APP_ID"], env["WECHAT_APP_SECRET"],
        wechat_templates(env.get("WECHAT_TEMPLATES", "")),
        api_base=env.get("WECHAT_API_BASE") or WECHAT_DEFAULT_BASE, timeout=_timeout(env),
        token_store=tokens, results=results)


def wechat_templates(spec: str) -> dict[str, WeChatTemplate]:
    """Parse ``WECHAT_TEMPLATES`` (JSON object keyed by our template code)."""
    try:
        raw = json.loads(spec or "{}")
        return {code: WeChatTemplate(str(item["template_id"]), dict(item.get("fields", {})),
                                     item.get("page")) for code, item in raw.items()}
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise NotifyConfigError(f"WECHAT_TEMPLATES is not valid: {exc!r}") from None


def _dingtalk(env: Mapping[str, str], tokens: TokenStore | None,
              results: ResultStore | None) -> DingTalkWorkNoticeChannel:
    agent_id = env["DINGTALK_AGENT_ID"]
    if not agent_id.isdigit():
        raise NotifyConfigError(f"DINGTALK_AGENT_ID must be an integer, got {agent_id!r}")
    return DingTalkWorkNoticeChannel(
        env["DINGTALK_APP_KEY"], env["DINGTALK_APP_SECRET"], int(agent_id),
        api_base=env.get("DINGTALK_API_BASE") or DINGTALK_DEFAULT_BASE, timeout=_timeout(env),
        token_store=tokens, results=results)


def _email(env: Mapping[str, str], _tokens: TokenStore | None,
           results: ResultStore | None) -> SmtpEmailChannel:
    starttls = (env.get("SMTP_STARTTLS") or "true").lower()
    if starttls not in TRUE | FALSE:
        raise NotifyConfigError(f"SMTP_STARTTLS must be true or false, got {starttls!r}")
    port = int(_number(env, "SMTP_PORT", "587", int))
    return SmtpEmailChannel(
        env["SMTP_HOST"], port, sender=env["SMTP_FROM"], username=env.get("SMTP_USER") or None,
        password=env.get("SMTP_PASSWORD") or None, starttls=starttls in TRUE,
        timeout=_timeout(env) * 2, results=results)
