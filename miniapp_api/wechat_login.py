"""WeChat mini-program login [小程序登录]: ``wx.login()`` code → openid (+ unionid) through
``code2session`` (wechatpy), and the phone number bound by ``getPhoneNumber``: either its
encrypted data (the older form) or its one-time ``code`` (exchanged at
``/wxa/business/getuserphonenumber`` with the access token; wechatpy 1.8 has no call for it).

The session key never leaves the server; phone data is decrypted with it (AES-CBC, wechatpy's
``WeChatWxaCrypto``) and its watermark must carry our AppID.
"""
from __future__ import annotations

import asyncio
import dataclasses

import requests
from wechatpy.exceptions import InvalidAppIdException, WeChatClientException

from backend.errors import AppError, Unauthorized, ValidationFailed
from notify.api import MemoryTokenStore
from notify.wechat import DEFAULT_API_BASE, TOKEN_ERRORS, _Client

INVALID_CODE = {40029, 40163}  # invalid / already used js_code
THROTTLED = {45011}


class WeChatCodeInvalid(Unauthorized):
    code, message = "WECHAT_CODE_INVALID", "the WeChat login code is invalid or already used"


class WeChatUnavailable(AppError):
    code, status, message = "WECHAT_UNAVAILABLE", 502, "WeChat did not answer; retry"


class PhoneDataInvalid(ValidationFailed):
    code, message = "WECHAT_PHONE_DATA_INVALID", "the encrypted phone number could not be read"


@dataclasses.dataclass(frozen=True)
class MiniSession:
    openid: str
    unionid: str | None
    session_key: str  # base64, as WeChat returns it: keep it server-side only


class WeChatMiniProgram:
    def __init__(self, app_id: str, app_secret: str, *, api_base: str = DEFAULT_API_BASE,
                 timeout: float = 5.0) -> None:
        self.app_id = app_id
        self._timeout = timeout
        self._client = _Client(app_id, app_secret, api_base, MemoryTokenStore(), timeout)

    async def code_to_session(self, code: str) -> MiniSession:
        if not code or len(code) > 128:
            raise WeChatCodeInvalid()
        try:
            result = await asyncio.wait_for(
                asyncio.to_thread(self._client.wxa.code_to_session, code), self._timeout * 2 + 2)
        except WeChatClientException as exc:
            if exc.errcode in INVALID_CODE:
                raise WeChatCodeInvalid() from None
            raise WeChatUnavailable(f"wechat errcode {exc.errcode}: {exc.errmsg}") from None
        except (requests.RequestException, asyncio.TimeoutError) as exc:
            raise WeChatUnavailable(f"wechat: {exc}") from None
        return MiniSession(result["openid"], result.get("unionid"), result["session_key"])

    async def phone_number(self, phone_code: str) -> str:
        """The pure phone number for the ``code`` of ``getPhoneNumber`` (one use, 5 minutes)."""
        if not phone_code or len(phone_code) > 128:
            raise PhoneDataInvalid("the phone code is invalid")
        try:
            result = await self._fetch_phone(phone_code)
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise self._phone_error(exc) from None
            self._client.forget_token()  # expired/invalidated token: refresh once
            try:
                result = await self._fetch_phone(phone_code)
            except WeChatClientException as again:
                raise self._phone_error(again) from None
        info = result.get("phone_info") or {}
        if (info.get("watermark") or {}).get("appid") != self.app_id:
            raise PhoneDataInvalid("the phone number was issued for another app")
        if not info.get("purePhoneNumber"):
            raise PhoneDataInvalid()
        return str(info["purePhoneNumber"])

    async def _fetch_phone(self, phone_code: str) -> dict:
        client = self._client
        try:
            return await asyncio.wait_for(asyncio.to_thread(
                client.post, "wxa/business/getuserphonenumber", data={"code": phone_code},
                api_base_url=f"{client._api_base}/"), self._timeout * 2 + 2)
        except (requests.RequestException, asyncio.TimeoutError) as exc:
            raise WeChatUnavailable(f"wechat: {exc}") from None

    @staticmethod
    def _phone_error(exc: WeChatClientException) -> AppError:
        if exc.errcode in INVALID_CODE:
            return PhoneDataInvalid("the phone code is invalid or already used")
        return WeChatUnavailable(f"wechat errcode {exc.errcode}: {exc.errmsg}")

    def decrypt_phone(self, session_key: str, encrypted_data: str, iv: str) -> str:
        """The pure phone number (no country code) from ``getPhoneNumber``'s encrypted data."""
        from wechatpy.crypto import WeChatWxaCrypto

        try:
            data = WeChatWxaCrypto(session_key, iv, self.app_id).decrypt_message(encrypted_data)
            return str(data["purePhoneNumber"])
        except InvalidAppIdException:
            raise PhoneDataInvalid("the phone data was issued for another app") from None
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise PhoneDataInvalid() from None
