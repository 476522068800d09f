"""WeChat mini-program subscribe messages (``/cgi-bin/message/subscribe/send``) via wechatpy.

Policyholders sign in our mini program and, when they tap "subscribe", grant us one message per
template; ``43101`` means they never did (or used it up), so it is an
:class:`~notify.api.InvalidRecipient`, not a retry.

Why it is built this way:

* wechatpy 1.8.18 hard-codes ``https://api.weixin.qq.com`` for the token call and lets
  ``WeChatWxa.API_BASE_URL`` decide the send URL; :class:`_Client` points both at the configured
  base (tests use a fake server on 127.0.0.1).
* wechatpy's auto-retry on an expired token recurses without a bound; we turn it off and do the
  bounded version ourselves: drop the cached token, fetch a new one, retry **once**.
* wechatpy's token fetch passes no timeout to requests; :class:`_TimeoutSession` gives every
  request one.
* The access token lives in a :class:`~notify.api.TokenStore` (wechatpy's session interface), so
  several workers can share one token through ``wechatpy.session.redisstorage.RedisStorage``:
  WeChat invalidates the previous token whenever a new one is fetched.
* wechatpy is blocking, so every call runs in ``asyncio.to_thread``.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Mapping

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from notify.api import (
    Channel, ChannelAuthError, ChannelError, ChannelMisconfigured, ChannelThrottled,
    ChannelTimeout, ChannelUnavailable, InvalidRecipient, MemoryTokenStore, Message, ResultStore,
    SendResult, TemplateError, TokenStore, utcnow,
)
from notify.templates import DEFAULT_REGISTRY, TemplateRegistry

DEFAULT_API_BASE = "https://api.weixin.qq.com"
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
RECIPIENT_ERRORS = frozenset({43101, 40003, 43004, 46004})
TEMPLATE_ERRORS = frozenset({47003, 40037, 41030})
CONFIG_ERRORS = frozenset({40013, 40125, 40164, 41002, 41004, 48001, 61024})
THROTTLE_ERRORS = frozenset({45009, 45011})


@dataclass(frozen=True)
class WeChatTemplate:
    """How one of our templates maps onto an approved subscribe-message template.

    ``fields`` maps our variable names to WeChat's keys (``{"doc_title": "thing1"}``); variables
    not mapped are not sent. ``page`` may use our variables (``"pages/sign/index?f={flow}"``).
    """

    template_id: str
    fields: Mapping[str, str] = field(default_factory=dict)
    page: str | None = None


class _TimeoutSession(requests.Session):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().request(method, url, **kwargs)


class _Client(WeChatClient):
    def __init__(self, app_id: str, app_secret: str, api_base: str, store: TokenStore,
                 timeout: float) -> None:
        super().__init__(app_id, app_secret, session=store, timeout=timeout, auto_retry=False)
        self._api_base = api_base.rstrip("/")
        self.API_BASE_URL = f"{self._api_base}/cgi-bin/"
        self.wxa.API_BASE_URL = f"{self._api_base}/"
        self._http = _TimeoutSession(timeout)

    def fetch_access_token(self) -> dict[str, Any]:
        return self._fetch_access_token(
            url=f"{self._api_base}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid,
                    "secret": self.secret},
        )

    def forget_token(self) -> None:
        self.session.delete(self.access_token_key)
        self.expires_at = None


class WeChatSubscribeChannel(Channel):
    name = "wechat"

    def __init__(self, app_id: str, app_secret: str, templates: Mapping[str, WeChatTemplate], *,
                 api_base: str = DEFAULT_API_BASE, timeout: float = 5.0,
                 token_store: TokenStore | None = None,
                 registry: TemplateRegistry = DEFAULT_REGISTRY,
                 results: ResultStore | None = None) -> None:
        super().__init__(results=results)
        self._templates = dict(templates)
        self._registry = registry
        self._timeout = timeout
        self._client = _Client(app_id, app_secret, api_base,
                               token_store if token_store is not None else MemoryTokenStore(),
                               timeout)

    async def _send(self, message: Message) -> SendResult:
        template_id, data, page = self._payload(message)
        try:
            result = await self._call(message.recipient, template_id, data, page)
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise error_for(exc) from exc
            self._client.forget_token()  # expired/invalidated: refresh once, then give up
            try:
                result = await self._call(message.recipient, template_id, data, page)
            except WeChatClientException as again:
                raise error_for(again) from again
        return SendResult(str(result.get("msgid", "")), utcnow(), dict(result))

    async def _call(self, openid: str, template_id: str, data: dict[str, Any],
                    page: str | None) -> dict[str, Any]:
        try:
            return await asyncio.wait_for(asyncio.to_thread(
                self._client.wxa.send_subscribe_message, openid, template_id, data, page),
                self._timeout * 2 + 2)
        except (requests.Timeout, asyncio.TimeoutError) as exc:
            raise ChannelTimeout(f"wechat: no answer in time ({exc})") from None
        except requests.RequestException as exc:
            raise ChannelUnavailable(f"wechat: {exc}") from None

    def _payload(self, message: Message) -> tuple[str, dict[str, Any], str | None]:
        params = self._registry.check(message.template, message.params)
        template = self._templates.get(message.template)
        if template is None:
            raise TemplateError(f"no WeChat template for {message.template!r}")
        data = {key: {"value": _fit(key, params[var])} for var, key in template.fields.items()}
        page = template.page.format(**params) if template.page else None
        return template.template_id, data, page


THING_MAX = 20
"""``thingN`` values longer than 20 characters are refused (47003); long document titles are
shortened rather than failing the whole notice. Other key types are sent as given."""


def _fit(key: str, value: str) -> str:
    if key.startswith("thing") and len(value) > THING_MAX:
        return value[:THING_MAX - 1] + "…"
    return value


def error_for(exc: WeChatClientException) -> ChannelError:
    """Map a WeChat errcode (or an HTTP failure wrapped by wechatpy) to our errors."""
    code = exc.errcode
    text = f"wechat {code}: {exc.errmsg}"
    if code is None:
        status = getattr(exc.response, "status_code", None)
        return ChannelUnavailable(f"wechat HTTP {status}", provider_code=f"HTTP_{status}")
    provider_code = str(code)
    if code in TOKEN_ERRORS:
        return ChannelAuthError(text, provider_code=provider_code)
    if code in RECIPIENT_ERRORS:
        return InvalidRecipient(text, provider_code=provider_code)
    if code in TEMPLATE_ERRORS:
        return TemplateError(text, provider_code=provider_code)
    if code in THROTTLE_ERRORS:
        return ChannelThrottled(text, retry_after=60.0, provider_code=provider_code)
    if code in CONFIG_ERRORS:
        return ChannelMisconfigured(text, provider_code=provider_code)
    if code == -1:
        return ChannelUnavailable(text, provider_code=provider_code)
    return ChannelError(text, provider_code=provider_code)
