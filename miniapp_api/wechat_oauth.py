"""WeChat web OAuth [公众号网页授权] for H5 signing links opened inside WeChat.

Where ``WECHAT_OAUTH_APP_ID``/``WECHAT_OAUTH_APP_SECRET`` are set and ``/s/<token>`` is opened
in WeChat's browser (User-Agent ``MicroMessenger``; not WeCom, not a mini-program ``web-view``,
which has its own login), the link is first sent through WeChat's silent authorisation
(``snsapi_base``): WeChat comes back to ``/h5/wechat/callback?code&state``, the code is exchanged
(wechatpy's ``WeChatOAuth``) for the person's openid, whose keyed hash is recorded in the audit
log as evidence of who opened the link (``link.wechat_oauth``; never the openid in clear), and
only then is the H5 session cookie set. Elsewhere, or when not configured, the link goes straight
to its start page as before.

The ``state`` is bound to the link id, expires after ``STATE_SECONDS`` and is MACed with the H5
session key; WeChat allows only ``[a-zA-Z0-9]`` (128 bytes at most) there, so it is hex.
"""
from __future__ import annotations

import asyncio
import hmac
import time
import uuid

import requests
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect
from sanic_ext import openapi
from wechatpy.exceptions import WeChatOAuthException
from wechatpy.oauth import WeChatOAuth

from backend import audit
from backend.errors import AppError, BadRequest, NotFound
from backend.services import signing_links
from miniapp_api import h5
from sign.crypto.sm3 import hmac_sm3

bp = Blueprint("h5_wechat_oauth")

CALLBACK_PATH = "/h5/wechat/callback"
SCOPE = "snsapi_base"
STATE_SECONDS = 600
#: Attempts of the code exchange when WeChat cannot be reached, answers 5xx or "system busy" (-1).
ATTEMPTS = 3
BACKOFF_SECONDS = 0.2
RETRYABLE_ERRCODES = {-1}
TIMEOUT_SECONDS = 5.0


class StateInvalid(BadRequest):
    code, message = ("WECHAT_OAUTH_STATE_INVALID",
                     "the WeChat authorisation expired or was altered; open the signing link again")


class CodeMissing(BadRequest):
    code, message = "WECHAT_OAUTH_CODE_MISSING", "WeChat did not hand over an authorisation code"


class OAuthFailed(AppError):
    code, status, message = ("WECHAT_OAUTH_FAILED", 502,
                             "WeChat authorisation failed; open the signing link again")


class NotConfigured(NotFound):
    code, message = "WECHAT_OAUTH_NOT_CONFIGURED", "WeChat web authorisation is not configured"


def in_wechat(user_agent: str) -> bool:
    """WeChat's own browser; WeCom (wxwork) and mini-program web-views cannot use 公众号 OAuth."""
    return ("MicroMessenger" in user_agent and "wxwork" not in user_agent
            and "miniProgram" not in user_agent)


def wanted(request: Request) -> bool:
    settings = request.app.ctx.runtime.settings
    return bool(settings.wechat_oauth_app_id) and in_wechat(request.headers.get("user-agent", ""))


# -- state ------------------------------------------------------------------------------------
def _mac(key: bytes, payload: str) -> str:
    return hmac_sm3(key, b"wechat-oauth-state:" + payload.encode()).hex()[:32]


def make_state(key: bytes, link_id: str, now: float | None = None) -> str:
    expires = int((now or time.time()) + STATE_SECONDS)
    payload = f"{uuid.UUID(link_id).hex}{expires:08x}"
    return payload + _mac(key, payload)


def link_of_state(key: bytes, state: str | None, now: float | None = None) -> str | None:
    """The link id the state was made for, or None when absent, altered or expired."""
    state = state or ""
    if len(state) != 72 or any(c not in "0123456789abcdef" for c in state):
        return None
    payload, mac = state[:40], state[40:]
    if not hmac.compare_digest(_mac(key, payload), mac):
        return None
    if int(payload[32:], 16) < (now or time.time()):
        return None
    return str(uuid.UUID(payload[:32]))


# -- WeChat -----------------------------------------------------------------------------------
class _OAuth(WeChatOAuth):
    """wechatpy's client with our bases and a timeout on every call."""

    def __init__(self, app_id: str, secret: str, redirect_uri: str, *, oauth_base: str,
                 api_base: str, state: str = "", timeout: float = TIMEOUT_SECONDS) -> None:
        super().__init__(app_id, secret, redirect_uri, scope=SCOPE, state=state)
        self.OAUTH_BASE_URL = f"{oauth_base.rstrip('/')}/connect/"
        self.API_BASE_URL = f"{api_base.rstrip('/')}/"
        self._timeout = timeout

    def _request(self, method, url_or_endpoint, **kwargs):
        kwargs.setdefault("timeout", self._timeout)
        return super()._request(method, url_or_endpoint, **kwargs)


def _client(settings, state: str = "", timeout: float = TIMEOUT_SECONDS) -> _OAuth:
    return _OAuth(settings.wechat_oauth_app_id, settings.wechat_oauth_app_secret,
                  settings.base_url + CALLBACK_PATH, oauth_base=settings.wechat_oauth_url,
                  api_base=settings.wechat_oauth_api_url, state=state, timeout=timeout)


def authorize_url(settings, state: str) -> str:
    return _client(settings, state).authorize_url


async def exchange_code(settings, code: str, *, timeout: float = TIMEOUT_SECONDS,
                        attempts: int = ATTEMPTS, backoff: float = BACKOFF_SECONDS) -> dict:
    """WeChat's answer to ``sns/oauth2/access_token`` for ``code`` (``openid``, ...); retried
    with backoff on network errors, 5xx and errcode -1; any other errcode fails at once."""
    if not code or len(code) > 128:
        raise CodeMissing()
    problem = ""
    for attempt in range(attempts):
        if attempt:
            await asyncio.sleep(backoff * 2 ** (attempt - 1))
        client = _client(settings, timeout=timeout)
        try:
            result = await asyncio.wait_for(asyncio.to_thread(client.fetch_access_token, code),
                                            timeout * 2 + 2)
        except WeChatOAuthException as exc:
            if exc.errcode is not None:
                problem = f"wechat errcode {exc.errcode}: {exc.errmsg}"
                if exc.errcode in RETRYABLE_ERRCODES:
                    continue
                raise OAuthFailed(details={"errcode": exc.errcode}) from None
            status = getattr(exc.response, "status_code", None)
            problem = f"wechat http {status}"
            if status is not None and status < 500:
                raise OAuthFailed(details={"http_status": status}) from None
            continue
        except (requests.RequestException, asyncio.TimeoutError) as exc:
            problem = f"wechat: {type(exc).__name__}"
            continue
        except ValueError:  # not JSON
            raise OAuthFailed(details={"problem": "unreadable answer"}) from None
        finally:
            client._http.close()
        if not isinstance(result, dict) or not result.get("openid"):
            raise OAuthFailed(details={"problem": "no openid"})
        return result
    raise OAuthFailed(details={"problem": problem, "attempts": attempts})


# -- routes -----------------------------------------------------------------------------------
def authorize_redirect(request: Request, link_id: str) -> HTTPResponse:
    """The redirect from /s/<token> to WeChat's authorisation page, with a state for the link."""
    runtime = request.app.ctx.runtime
    url = authorize_url(runtime.settings, make_state(runtime.session_key, link_id))
    return redirect(url, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@bp.get(CALLBACK_PATH)
@openapi.summary("WeChat web OAuth callback of a signing link opened in WeChat: records the "
                 "openid (hashed) and continues to the link's start page")
@openapi.parameter("code", str, "query")
@openapi.parameter("state", str, "query")
async def callback(request: Request) -> HTTPResponse:
    runtime = request.app.ctx.runtime
    settings = runtime.settings
    try:
        if not settings.wechat_oauth_app_id:
            raise NotConfigured()
        link_id = link_of_state(runtime.session_key, request.args.get("state"))
        if link_id is None:
            raise StateInvalid()
        link = await signing_links.get_usable_link(link_id)
        code = request.args.get("code")
        if not code:
            raise CodeMissing()
        answer = await exchange_code(settings, code)
    except OAuthFailed as exc:
        return h5.error_page(exc, title="微信授权失败")
    except AppError as exc:
        return h5.error_page(exc)
    cipher = runtime.cipher
    details = {"app_id": settings.wechat_oauth_app_id, "scope": SCOPE,
               "openid_index": cipher.blind_index(answer["openid"], "wechat_openid")}
    if answer.get("unionid"):
        details["unionid_index"] = cipher.blind_index(answer["unionid"], "wechat_unionid")
    await audit.record("link.wechat_oauth", f"link:{link.id}", tenant_id=str(link.tenant_id),
                       actor=f"signer:{link.signer_ref}", details=details)
    return h5.with_session(request, str(link.id))
