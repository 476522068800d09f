"""SMS through Aliyun Dysmsapi ``SendSms`` (2017-05-25, RPC style) with aliyun-python-sdk-core.

Why it is built this way:

* The SDK signs the request (HMAC-SHA1 over the canonicalised parameters, RPC signature v1); we
  only build a ``CommonRequest``. ``request.set_domain`` + ``set_protocol_type`` point it at any
  endpoint, which is how tests reach the fake server over http on 127.0.0.1. The SDK's default
  protocol is plain HTTP, so the real endpoint is explicitly https.
* The SDK is blocking: every call runs in ``asyncio.to_thread`` with the SDK's own connect/read
  timeouts plus an outer ``wait_for`` as a backstop.
* SDK auto-retry is off: SendSms is not idempotent on Aliyun's side (their documentation asks
  callers to deduplicate), so retries belong to the queue worker, guarded by the idempotency key
  (``Channel.send``). The key also travels as ``OutId`` and comes back in delivery receipts.
* Business failures come back as HTTP 200 with ``Code`` != ``OK``; platform failures
  (signature, throttling, 5xx) as HTTP 4xx/5xx that the SDK raises as ``ServerException``.
  Both go through :func:`error_for`.
"""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping
from urllib.parse import urlsplit

from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest

from backend.errors import BadRequest
from notify.api import (
    Channel, ChannelError, ChannelMisconfigured, ChannelThrottled, ChannelTimeout,
    ChannelUnavailable, DeliveryReceipt, InvalidRecipient, Message, ResultStore, SendResult,
    TemplateError, utcnow,
)
from notify.templates import DEFAULT_REGISTRY, TemplateRegistry

DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com"
API_VERSION = "2017-05-25"

# Aliyun SMS error codes (SendSms API error list and the platform's common errors).
THROTTLE_CODES: dict[str, float] = {
    "isv.BUSINESS_LIMIT_CONTROL": 60.0,    # per-number minute/hour/day flow control
    "isv.DAY_LIMIT_CONTROL": 3600.0,       # daily limit reached
    "isv.MONTH_LIMIT_CONTROL": 86400.0,
    "Throttling": 1.0,                     # API QPS limit (HTTP 400/503)
    "Throttling.User": 1.0,
    "Throttling.Api": 1.0,
}
RECIPIENT_CODES = frozenset({
    "isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.PHONE_NUMBER_ILLEGAL",
    "isv.DOMESTIC_NUMBER_NOT_SUPPORTED", "isv.NOT_SUPPORTED_COUNTRY", "isv.COUNTRY_RESTRICTED",
    "isv.RECEIVE_PHONE_NUMBER_IN_BLACKLIST",
})
TEMPLATE_CODES = frozenset({
    "isv.TEMPLATE_MISSING_PARAMETERS", "isv.SMS_TEMPLATE_ILLEGAL", "isv.TEMPLATE_PARAMS_ILLEGAL",
    "isv.INVALID_JSON_PARAM", "isv.PARAM_LENGTH_LIMIT", "isv.PARAM_NOT_SUPPORT_URL",
    "isv.BLACK_KEY_CONTROL_LIMIT", "isv.SMS_CONTENT_ILLEGAL", "isv.SMS_TEST_TEMPLATE_PARAMS_ILLEGAL",
})
CONFIG_CODES = frozenset({
    "isv.SMS_SIGNATURE_ILLEGAL", "isv.SMS_SIGN_ILLEGAL", "isv.SIGN_NAME_ILLEGAL",
    "isv.SMS_SIGNATURE_SCENE_ILLEGAL", "isv.OUT_OF_SERVICE", "isv.AMOUNT_NOT_ENOUGH",
    "isv.ACCOUNT_NOT_EXISTS", "isv.ACCOUNT_ABNORMAL", "isv.PRODUCT_UN_SUBSCRIPT",
    "isv.PRODUCT_UNSUBSCRIBE", "isp.RAM_PERMISSION_DENY", "isv.EXTEND_CODE_ERROR",
    "SignatureDoesNotMatch", "InvalidAccessKeySecret", "InvalidAccessKeyId.NotFound",
    "InvalidAccessKeyId.Inactive", "Forbidden.RAM", "InvalidTimeStamp.Expired",
    "IncompleteSignature", "MissingParameter",
})
RETRYABLE_CODES = frozenset({
    "isp.SYSTEM_ERROR", "isp.GATEWAY_ERROR", "isp.UNKNOWN", "ServiceUnavailable",
    "InternalError", "SignatureNonceUsed", "SDK.HttpError",
})


def error_for(code: str, message: str, http_status: int | None = None) -> ChannelError:
    """Map an Aliyun error code to our error taxonomy (and thus retry policy)."""
    text = f"aliyun {code}: {message}"
    if code in THROTTLE_CODES:
        return ChannelThrottled(text, retry_after=THROTTLE_CODES[code], provider_code=code)
    if code in RECIPIENT_CODES:
        return InvalidRecipient(text, provider_code=code)
    if code in TEMPLATE_CODES:
        return TemplateError(text, provider_code=code)
    if code in CONFIG_CODES:
        return ChannelMisconfigured(text, provider_code=code)
    if code in RETRYABLE_CODES or code.startswith("isp.") or (http_status or 0) >= 500:
        return ChannelUnavailable(text, provider_code=code)
    return ChannelError(text, provider_code=code)


class AliyunSmsChannel(Channel):
    name = "sms"

    def __init__(self, access_key_id: str, access_key_secret: str, sign_name: str,
                 template_codes: Mapping[str, str], *, endpoint: str = DEFAULT_ENDPOINT,
                 region_id: str = "cn-hangzhou", connect_timeout: float = 3.0,
                 read_timeout: float = 5.0, registry: TemplateRegistry = DEFAULT_REGISTRY,
                 results: ResultStore | None = None) -> None:
        super().__init__(results=results)
        self._sign_name = sign_name
        self._template_codes = dict(template_codes)
        self._registry = registry
        self._protocol, self._domain = _split_endpoint(endpoint)
        self._timeouts = (connect_timeout, read_timeout)
        self._client = AcsClient(access_key_id, access_key_secret, region_id, auto_retry=False,
                                 connect_timeout=connect_timeout, timeout=read_timeout)

    async def _send(self, message: Message) -> SendResult:
        request = self._request(message)
        backstop = sum(self._timeouts) + 2.0
        try:
            body = await asyncio.wait_for(
                asyncio.to_thread(self._client.do_action_with_exception, request), backstop)
        except asyncio.TimeoutError:
            raise ChannelTimeout(f"aliyun SendSms: no answer in {backstop:.1f}s") from None
        except ServerException as exc:
            raise error_for(exc.get_error_code(), exc.get_error_msg(),
                            exc.get_http_status()) from exc
        except ClientException as exc:
            raise _client_error(exc) from exc
        return _result(body)

    def _request(self, message: Message) -> CommonRequest:
        params = self._registry.check(message.template, message.params)
        try:
            template_code = self._template_codes[message.template]
        except KeyError:
            raise TemplateError(f"no Aliyun template code for {message.template!r}") from None
        request = CommonRequest(domain=self._domain, version=API_VERSION, action_name="SendSms")
        request.set_protocol_type(self._protocol)
        request.set_method("POST")
        request.set_accept_format("JSON")
        request.add_query_param("PhoneNumbers", message.recipient)
        request.add_query_param("SignName", self._sign_name)
        request.add_query_param("TemplateCode", template_code)
        request.add_query_param("TemplateParam", json.dumps(params, ensure_ascii=False))
        request.add_query_param("OutId", message.idempotency_key)
        return request


def _split_endpoint(endpoint: str) -> tuple[str, str]:
    """``https://host[:port]`` / ``http://127.0.0.1:8080`` / bare ``host`` (https)."""
    if "://" not in endpoint:
        return "https", endpoint.strip("/")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"bad Aliyun endpoint {endpoint!r}")
    return parts.scheme, parts.netloc


def _client_error(exc: ClientException) -> ChannelError:
    """The SDK wraps every transport failure (timeout, refused) in ClientException."""
    text = f"aliyun {exc.get_error_code()}: {exc.get_error_msg()}"
    if exc.get_error_code() != "SDK.HttpError":
        return ChannelMisconfigured(text, provider_code=exc.get_error_code())
    lowered = exc.get_error_msg().lower()
    if "timed out" in lowered or "timeout" in lowered:
        return ChannelTimeout(text, provider_code="SDK.HttpError")
    return ChannelUnavailable(text, provider_code="SDK.HttpError")


def _result(body: bytes) -> SendResult:
    try:
        data: dict[str, Any] = json.loads(body)
    except ValueError:
        raise ChannelUnavailable(f"aliyun SendSms: non-JSON answer {body[:200]!r}") from None
    code = str(data.get("Code", ""))
    if code != "OK":
        raise error_for(code or "EMPTY", str(data.get("Message", "")))
    return SendResult(str(data.get("BizId", "")), utcnow(), data)


# --------------------------------------------------------------------------------------------
# Delivery receipts (SmsReport, HTTP batch push: a JSON array, one object per report)
# --------------------------------------------------------------------------------------------
CHINA_TZ = timezone(timedelta(hours=8))
RECEIPT_ACK: dict[str, Any] = {"code": 0, "msg": "接收成功"}
"""The body the callback endpoint answers with; anything else makes Aliyun push again."""


class InvalidReceipt(BadRequest):
    code, message = "INVALID_RECEIPT", "the delivery receipt is malformed"


def parse_delivery_receipt(json_body: str | bytes | list[Any]) -> list[DeliveryReceipt]:
    """Parse Aliyun's SmsReport push: ``[{"phone_number", "send_time", "report_time",
    "success", "err_code", "err_msg", "sms_size", "biz_id", "out_id"}, ...]``.

    Times are Beijing time (``yyyy-MM-dd HH:mm:ss``); ``err_code`` is ``DELIVERED`` on success.
    """
    items = json_body if isinstance(json_body, list) else _load(json_body)
    if not isinstance(items, list):
        raise InvalidReceipt("SmsReport body must be a JSON array")
    return [_receipt(item) for item in items]


def _load(body: str | bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise InvalidReceipt("SmsReport body is not JSON") from None


def _receipt(item: Any) -> DeliveryReceipt:
    if not isinstance(item, dict) or not item.get("biz_id") or "success" not in item:
        raise InvalidReceipt(f"SmsReport item lacks biz_id/success: {item!r}"[:300])
    success = item["success"] in (True, "true", "True", 1)
    error_code = None if success else str(item.get("err_code") or "UNKNOWN")
    return DeliveryReceipt(
        provider_message_id=str(item["biz_id"]),
        status="delivered" if success else "failed",
        error_code=error_code,
        received_at=_report_time(item.get("report_time")),
        recipient=str(item.get("phone_number", "")),
        idempotency_key=str(item.get("out_id") or ""),
        raw=item,
    )


def _report_time(value: Any) -> datetime:
    if not value:
        return utcnow()
    try:
        local = datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise InvalidReceipt(f"bad report_time {value!r}") from None
    return local.replace(tzinfo=CHINA_TZ).astimezone(timezone.utc)


__all__ = ["AliyunSmsChannel", "parse_delivery_receipt", "RECEIPT_ACK", "InvalidReceipt",
           "error_for"]
