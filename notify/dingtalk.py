"""DingTalk work notices (``topapi/message/corpconversation/asyncsend_v2``) to agents and leaders.

The recipient is a DingTalk ``userid`` (several may be joined by commas). The message is our
template rendered as a ``markdown`` work notice. The access token comes from ``gettoken``
(``appkey``/``appsecret``), is cached in a :class:`~notify.api.TokenStore` until shortly before it
expires, and is fetched again once when DingTalk calls it invalid (40014) or expired (42001).

``asyncsend_v2`` is asynchronous on DingTalk's side: ``errcode 0`` means the task was queued and
the ``task_id`` is our provider message id; unknown userids are reported later by
``getsendresult`` (not polled here). DingTalk itself drops a notice identical to one the same user
got the same day; our idempotency guard (``Channel.send``) covers retries within our process.
"""
from __future__ import annotations

import json
from typing import Any

import httpx

from notify.api import (
    Channel, ChannelAuthError, ChannelError, ChannelMisconfigured, ChannelThrottled,
    ChannelTimeout, ChannelUnavailable, InvalidRecipient, MemoryTokenStore, Message, ResultStore,
    SendResult, TokenStore, utcnow,
)
from notify.templates import DEFAULT_REGISTRY, TemplateRegistry

DEFAULT_API_BASE = "https://oapi.dingtalk.com"
SEND_PATH = "/topapi/message/corpconversation/asyncsend_v2"
TOKEN_ERRORS = frozenset({40014, 42001})
THROTTLE_ERRORS = frozenset({90002, 90005, 90006, 90018, 90019})
RECIPIENT_ERRORS = frozenset({33012, 60121, 40103})
CONFIG_ERRORS = frozenset({40089, 40078, 60011, 60020, 400002, 43009})
TOKEN_EARLY_REFRESH = 300.0
"""Refresh this many seconds before DingTalk's ``expires_in`` runs out (clock skew, slow calls)."""


class DingTalkWorkNoticeChannel(Channel):
    name = "dingtalk"

    def __init__(self, app_key: str, app_secret: str, agent_id: int | str, *,
                 api_base: str = DEFAULT_API_BASE, timeout: float = 5.0,
                 token_store: TokenStore | None = None,
                 registry: TemplateRegistry = DEFAULT_REGISTRY,
                 results: ResultStore | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(results=results)
        self._app_key, self._app_secret = app_key, app_secret
        self._agent_id = int(agent_id)
        self._registry = registry
        self._tokens = token_store if token_store is not None else MemoryTokenStore()
        self._http = httpx.AsyncClient(base_url=api_base.rstrip("/"), transport=transport,
                                       timeout=httpx.Timeout(timeout))

    @property
    def _token_key(self) -> str:
        return f"dingtalk:{self._app_key}:access_token"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, message: Message) -> SendResult:
        body = self._body(message)
        data = await self._post_send(body, await self._token())
        if data.get("errcode") in TOKEN_ERRORS or _sub_code(data) in TOKEN_ERRORS:
            self._tokens.delete(self._token_key)  # expired/invalidated: refresh once
            data = await self._post_send(body, await self._token())
        if data.get("errcode") != 0:
            raise error_for(data)
        return SendResult(str(data.get("task_id", "")), utcnow(), data)

    def _body(self, message: Message) -> dict[str, Any]:
        rendered = self._registry.render(message.template, message.params)
        return {
            "agent_id": self._agent_id,
            "userid_list": message.recipient,
            "msg": {"msgtype": "markdown",
                    "markdown": {"title": rendered.subject, "text": rendered.text}},
        }

    async def _token(self) -> str:
        token = self._tokens.get(self._token_key)
        if token:
            return str(token)
        data = await self._get("/gettoken", {"appkey": self._app_key,
                                             "appsecret": self._app_secret})
        if data.get("errcode") != 0 or not data.get("access_token"):
            raise error_for(data)
        ttl = max(float(data.get("expires_in", 7200)) - TOKEN_EARLY_REFRESH, 1.0)
        self._tokens.set(self._token_key, data["access_token"], ttl)
        return str(data["access_token"])

    async def _post_send(self, body: dict[str, Any], token: str) -> dict[str, Any]:
        return await self._call("POST", SEND_PATH, {"access_token": token}, body)

    async def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        return await self._call("GET", path, params, None)

    async def _call(self, method: str, path: str, params: dict[str, str],
                    body: dict[str, Any] | None) -> dict[str, Any]:
        try:
            response = await self._http.request(method, path, params=params, json=body)
        except httpx.TimeoutException as exc:
            raise ChannelTimeout(f"dingtalk {path}: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            raise ChannelUnavailable(f"dingtalk {path}: {exc!r}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise ChannelUnavailable(f"dingtalk {path}: HTTP {response.status_code}",
                                     provider_code=f"HTTP_{response.status_code}")
        try:
            data = response.json()
        except json.JSONDecodeError:
            raise ChannelUnavailable(f"dingtalk {path}: non-JSON HTTP {response.status_code}") \
                from None
        if not isinstance(data, dict):
            raise ChannelUnavailable(f"dingtalk {path}: unexpected answer {data!r}"[:200])
        return data


def _sub_code(data: dict[str, Any]) -> int | None:
    """errcode 88 carries the real reason in ``sub_code`` (a string)."""
    try:
        return int(data["sub_code"]) if data.get("errcode") == 88 else None
    except (KeyError, TypeError, ValueError):
        return None


def error_for(data: dict[str, Any]) -> ChannelError:
    code = data.get("errcode")
    real = _sub_code(data) or code
    text = f"dingtalk {code}: {data.get('errmsg', '')}"
    provider_code = str(real)
    if real in TOKEN_ERRORS:
        return ChannelAuthError(text, provider_code=provider_code)
    if real in THROTTLE_ERRORS:
        return ChannelThrottled(text, retry_after=60.0, provider_code=provider_code)
    if real in RECIPIENT_ERRORS:
        return InvalidRecipient(text, provider_code=provider_code)
    if real in CONFIG_ERRORS:
        return ChannelMisconfigured(text, provider_code=provider_code)
    if real == -1:
        return ChannelUnavailable(text, provider_code=provider_code)
    return ChannelError(text, provider_code=provider_code)


__all__ = ["DingTalkWorkNoticeChannel", "error_for"]
