"""Two-/three-factor identity checks through the Aliyun cloud market (阿里云云市场) API shape.

Wire protocol (the 杭州数脉科技 "运营商三要素" and "身份证实名认证" products, cmapi026100 /
cmapi00035152, the most widely used market APIs of this kind; other market vendors differ only in
paths and field names, which is why both URLs are settings):

- ``POST <ALIYUN_IDENTITY_URL>`` (default ``https://mobile3elements.shumaidata.com/mobile/verify_real_name``)
  form fields ``name``, ``idcard``, ``mobile``                     -> three-factor
- ``POST <ALIYUN_IDENTITY_2F_URL>`` (default ``https://eid.shumaidata.com/eid/check``)
  form fields ``name``, ``idcard``                                 -> two-factor
- header ``Authorization: APPCODE <appcode>`` (simple AppCode auth of the API gateway),
  ``Content-Type: application/x-www-form-urlencoded; charset=UTF-8``.

Answer (HTTP 200, JSON)::

    {"code": "0", "message": "成功",
     "result": {"name": "...", "idcard": "...", "mobile": "...", "res": "1",
                "description": "一致", "sex": "男", "birthday": "19930123", "address": "..."}}

Mapping to ``IdentityResult.outcome`` (``raw_code`` = ``res``, ``message`` = ``description``):

=====================  ===========================================  =======================
``code`` / ``res``      provider meaning                              our result
=====================  ===========================================  =======================
code 0, res "1"         一致 (consistent)                             ``match``
code 0, res "2"         不一致 (inconsistent)                          ``mismatch``
code 0, res "3"         无记录 (no record at the source)               ``unknown``
code 0, res "-1"        异常 (source failure)                          ProviderError, retried
code 0, other res       undocumented                                  ProviderError, not retried
code 400/20010/20310    参数错误 / 身份证号或姓名为空或非法             ProviderRejected
code 404 / 604          资源不存在 / 接口停用                          ProviderRejected
code 500 / 501          系统内部错误 / 第三方服务异常                  ProviderError, retried
code 1001, others       其他                                           ProviderError, not retried
=====================  ===========================================  =======================

Errors of the API gateway itself come with a non-200 status and the reason in the
``X-Ca-Error-Message`` header (the request id in ``X-Ca-Request-Id``):

- 400 ``Invalid AppCode `not exists```, 403 ``Unauthorized``, 403 ``Quota Exhausted`` /
  ``Quota Expired`` / ``User Arrears``, other 4xx              -> ProviderRejected (not retried)
- 403 ``Throttled by USER|APP|API|DOMAIN|GROUP Flow Control``, 429  -> ProviderThrottled (retried)
- 5xx (``Internal Error``, ``Failed To Invoke Backend Service``, ``Service Unavailable``,
  504 ``Async Service``)                                             -> ProviderError (retried)
- no answer within the timeout                                      -> ProviderTimeout (retried)

Idempotency: a check is a pure query; a retry resends the identical request and can only follow
a failure that produced no answer, so a definite (billed) answer is never asked for twice.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from face_verify.api import (
    IdentityProvider, IdentityResult, ProviderError, ProviderRejected, ProviderThrottled,
    RetryPolicy, json_body, send, utcnow, with_retries,
)

log = logging.getLogger("face_verify.aliyun")

THREE_FACTOR_URL = "https://mobile3elements.shumaidata.com/mobile/verify_real_name"
TWO_FACTOR_URL = "https://eid.shumaidata.com/eid/check"

T = TypeVar("T")
RES_OUTCOMES = {"1": "match", "2": "mismatch", "3": "unknown"}
REJECTED_CODES = {"400", "404", "604", "20010", "20310"}
RETRYABLE_CODES = {"500", "501"}


def gateway_error(response: httpx.Response, provider: str) -> ProviderError:
    """Map an API-gateway (non-200) answer to the right error class."""
    reason = response.headers.get("X-Ca-Error-Message", "") or response.reason_phrase
    request_id = response.headers.get("X-Ca-Request-Id", "")
    status = response.status_code
    kwargs = {"provider": provider, "raw_code": f"http_{status}:{reason}"[:200],
              "provider_request_id": request_id}
    message = f"{provider}: HTTP {status} {reason}"
    if status == 429 or (status == 403 and reason.startswith(("Throttled", "TThrottled"))):
        return ProviderThrottled(message, **kwargs)
    if status >= 500:
        return ProviderError(message, retryable=True, **kwargs)
    return ProviderRejected(message, **kwargs)


class MarketApi:
    """One Aliyun-market endpoint family: AppCode auth, timeouts, retries, the common envelope."""

    def __init__(self, appcode: str, provider: str, *, timeout: float = 5.0,
                 retry: RetryPolicy = RetryPolicy(), client: httpx.AsyncClient | None = None) -> None:
        if not appcode:
            raise ValueError("an Aliyun market AppCode is required")
        self._appcode = appcode
        self.provider = provider
        self.retry = retry
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)))

    async def post(self, url: str, form: dict[str, str], what: str,
                   interpret: Callable[[dict[str, Any], str], T]) -> T:
        """POST the form; ``interpret(result, request_id)`` of a code-0 answer. Interpreting is
        inside the retried step, so a retryable ``res`` (-1, source failure) is retried too."""
        async def once() -> T:
            request = self.client.build_request(
                "POST", url, data=form,
                headers={"Authorization": f"APPCODE {self._appcode}",
                         "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
            return interpret(*self._unwrap(await send(self.client, request, self.provider)))

        return await with_retries(once, self.retry, f"{self.provider} {what}")

    def _unwrap(self, response: httpx.Response) -> tuple[dict[str, Any], str]:
        if response.status_code != 200:
            raise gateway_error(response, self.provider)
        body = json_body(response, self.provider)
        request_id = response.headers.get("X-Ca-Request-Id", "")
        code = str(body.get("code", ""))
        if code != "0":
            raise self._business_error(code, str(body.get("message", "")), request_id)
        result = body.get("result")
        return (result if isinstance(result, dict) else {}), request_id

    def _business_error(self, code: str, message: str, request_id: str) -> ProviderError:
        kwargs = {"provider": self.provider, "raw_code": code, "provider_request_id": request_id}
        text = f"{self.provider}: code {code} {message}"
        if code in REJECTED_CODES:
            return ProviderRejected(text, **kwargs)
        return ProviderError(text, retryable=code in RETRYABLE_CODES, **kwargs)

    def identity_result(self, result: dict[str, Any], request_id: str, check: str) -> IdentityResult:
        """Map ``result.res`` to an outcome (table in the module docstring)."""
        res = str(result.get("res", ""))
        outcome = RES_OUTCOMES.get(res)
        if outcome is None:
            raise ProviderError(f"{self.provider}: result res={res!r} {result.get('description', '')}",
                                provider=self.provider, raw_code=f"res={res}",
                                retryable=res == "-1", provider_request_id=request_id)
        return IdentityResult(outcome=outcome, provider=self.provider,
                              provider_request_id=request_id or str(result.get("order_no", "")),
                              raw_code=res, message=str(result.get("description", "")),
                              checked_at=utcnow(), check=check)

    def interpreter(self, check: str) -> Callable[[dict[str, Any], str], IdentityResult]:
        return lambda result, request_id: self.identity_result(result, request_id, check)

    async def aclose(self) -> None:
        await self.client.aclose()


class AliyunMarketIdentity(IdentityProvider):
    """``IdentityProvider`` over the Aliyun market API (AppCode auth)."""

    name = "aliyun_market"

    def __init__(self, appcode: str, *, three_factor_url: str = THREE_FACTOR_URL,
                 two_factor_url: str = TWO_FACTOR_URL, timeout: float = 5.0,
                 retry: RetryPolicy = RetryPolicy(), client: httpx.AsyncClient | None = None) -> None:
        self.api = MarketApi(appcode, self.name, timeout=timeout, retry=retry, client=client)
        self.three_factor_url = three_factor_url
        self.two_factor_url = two_factor_url

    async def aclose(self) -> None:
        await self.api.aclose()

    async def verify_two_factor(self, name: str, id_number: str) -> IdentityResult:
        form = {"name": name, "idcard": id_number}
        return await self.api.post(self.two_factor_url, form, "two_factor",
                                   self.api.interpreter("two_factor"))

    async def verify_three_factor(self, name: str, id_number: str, mobile: str) -> IdentityResult:
        form = {"name": name, "idcard": id_number, "mobile": mobile}
        return await self.api.post(self.three_factor_url, form, "three_factor",
                                   self.api.interpreter("three_factor"))
