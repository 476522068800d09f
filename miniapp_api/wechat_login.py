"""WeChat mini-program login [小程序登录]: ``wx.login()`` code → openid (+ unionid) through
``code2session`` (wechatpy), and the encrypted phone number bound by ``getPhoneNumber``.

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
from notify.wechat import DEFAULT_API_BASE, _Client

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
