"""Face verification through Tencent Cloud FaceID (慧眼人脸核身), API version 2018-03-01.

Chosen over Aliyun cloudauth because its wire protocol is fully documented and signed with
TC3-HMAC-SHA256 over plain JSON, which we implement here with the standard library (no SDK).

Requests: ``POST https://faceid.tencentcloudapi.com/`` with a JSON body and headers
``X-TC-Action``, ``X-TC-Version: 2018-03-01``, ``X-TC-Timestamp``, ``X-TC-Region``,
``Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<date>/faceid/tc3_request,
SignedHeaders=content-type;host;x-tc-action, Signature=<hex>`` where (``tc3_authorization``)::

    CanonicalRequest = "POST\\n/\\n\\n" + "content-type:application/json; charset=utf-8\\n"
                       + "host:<host>\\n" + "x-tc-action:<action lower-case>\\n" + "\\n"
                       + "content-type;host;x-tc-action\\n" + hex(SHA256(body))
    StringToSign     = "TC3-HMAC-SHA256\\n<timestamp>\\n<date>/faceid/tc3_request\\n"
                       + hex(SHA256(CanonicalRequest))
    key = HMAC(HMAC(HMAC("TC3" + SecretKey, date), "faceid"), "tc3_request")
    Signature = hex(HMAC-SHA256(key, StringToSign))      # date = UTC date of the timestamp

Actions used:

- ``DetectAuth`` {RuleId, IdCard, Name, RedirectUrl, Extra} -> {Url, BizToken, RequestId}: a
  hosted H5 flow (liveness + comparison with the 公安 photo); the liveness mode (action/silent)
  is part of the rule configured in the console, hence one rule id per mode.
- ``GetDetectInfoEnhanced`` {BizToken, RuleId, InfoType: "1"} -> Text {ErrCode, ErrMsg,
  LiveStatus, LiveMsg, Comparestatus, Comparemsg, Sim ("0.00".."100.00"), ...}.
- ``LivenessRecognition`` {IdCard, Name, VideoBase64, LivenessType, ValidateData} and
  ``LivenessCompare`` {ImageBase64, VideoBase64, LivenessType, ValidateData} ->
  {Result, Description, Sim, BestFrameBase64, RequestId}; LivenessType ACTION | SILENT.

Scores (normalised to 0..1; ``passed`` is always computed against OUR thresholds):

- similarity = Sim / 100 (Tencent: >= 70 same person at 1/1000 false accept, >= 80 at 1/10000).
- FaceID returns no liveness probability, only a verdict: liveness_score = 1.0 when liveness
  passed (LiveStatus 0, or Result "Success" / "FailedOperation.CompareLowSimilarity" which is
  only reached after liveness passed), 0.0 for any other ``FailedOperation.*`` result.

Errors (``Response.Error.Code``): ``AuthFailure.*``, ``InvalidParameter*``, ``UnauthorizedOperation*``
-> ProviderRejected; ``RequestLimitExceeded*`` -> ProviderThrottled; ``InternalError*``,
``ResourceUnavailable*``, ``FailedOperation.UnKnown`` and HTTP 5xx -> ProviderError (retried);
timeouts -> ProviderTimeout (retried). Image/video decode failures -> ProviderRejected.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import httpx

from face_verify.api import (
    FaceInputInvalid, FaceResult, FaceThresholds, FaceVerifier, LivenessSession, ProviderError,
    ProviderRejected, ProviderThrottled, RetryPolicy, check_mode, json_body, send, utcnow,
    with_retries,
)

SERVICE = "faceid"
VERSION = "2018-03-01"
ENDPOINT = "https://faceid.tencentcloudapi.com"
CONTENT_TYPE = "application/json; charset=utf-8"
SIGNED_HEADERS = "content-type;host;x-tc-action"
LIVENESS_TYPES = {"action": "ACTION", "silent": "SILENT"}
LIVENESS_PASSED_RESULTS = {"Success", "FailedOperation.CompareLowSimilarity"}
REJECTED_PREFIXES = ("AuthFailure", "InvalidParameter", "UnauthorizedOperation", "MissingParameter",
                     "UnsupportedOperation", "FailedOperation.ImageDecodeFailed",
                     "FailedOperation.VideoDecodeFailed")
RETRYABLE_PREFIXES = ("InternalError", "ResourceUnavailable", "FailedOperation.UnKnown")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def tc3_authorization(secret_id: str, secret_key: str, *, host: str, action: str,
                      payload: bytes, timestamp: int, service: str = SERVICE) -> str:
    """The ``Authorization`` header value of a TC3-HMAC-SHA256 signed JSON POST."""
    date = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).strftime("%Y-%m-%d")
    canonical = "\n".join([
        "POST", "/", "",
        f"content-type:{CONTENT_TYPE}\nhost:{host}\nx-tc-action:{action.lower()}\n",
        SIGNED_HEADERS, hashlib.sha256(payload).hexdigest()])
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
            f"SignedHeaders={SIGNED_HEADERS}, Signature={signature}")


class TencentFaceVerifier(FaceVerifier):
    name = "tencent_faceid"

    def __init__(self, secret_id: str, secret_key: str, *, rule_id: str, action_rule_id: str = "",
                 endpoint: str = ENDPOINT, region: str = "ap-guangzhou",
                 thresholds: FaceThresholds = FaceThresholds(), timeout: float = 10.0,
                 retry: RetryPolicy = RetryPolicy(), client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        if not (secret_id and secret_key and rule_id):
            raise ValueError("Tencent FaceID needs a SecretId, a SecretKey and a RuleId")
        self._secret_id, self._secret_key = secret_id, secret_key
        self.rule_ids = {"silent": rule_id, "action": action_rule_id or rule_id}
        self.endpoint = endpoint.rstrip("/") + "/"
        self.host = urllib.parse.urlsplit(self.endpoint).netloc
        self.region = region
        self.thresholds = thresholds
        self.retry = retry
        self._clock = clock
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)))
        self._session_modes: dict[str, str] = {}

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- the two entry points ------------------------------------------------------------------

    async def create_liveness_session(self, mode: str, *, name: str, id_number: str,
                                      redirect_url: str = "", reference: str = "") -> LivenessSession:
        check_mode(mode)
        params = {"RuleId": self.rule_ids[mode], "IdCard": id_number, "Name": name,
                  "RedirectUrl": redirect_url, "Extra": reference}
        answer = await self._call("DetectAuth", params)
        token = str(answer.get("BizToken", ""))
        self._session_modes[token] = mode
        return LivenessSession(session_id=token, mode=mode, url=str(answer.get("Url", "")),
                               token=token, provider=self.name,
                               provider_request_id=str(answer.get("RequestId", "")),
                               expires_at=utcnow() + dt.timedelta(days=3))

    async def verify(self, capture: LivenessSession | str | bytes, *, id_photo: bytes | None = None,
                     name: str = "", id_number: str = "", mode: str = "silent",
                     validate_data: str = "") -> FaceResult:
        if isinstance(capture, (bytes, bytearray)):
            return await self._verify_upload(bytes(capture), id_photo, name, id_number,
                                             check_mode(mode), validate_data)
        session_id = capture.session_id if isinstance(capture, LivenessSession) else capture
        session_mode = (capture.mode if isinstance(capture, LivenessSession)
                        else self._session_modes.get(session_id, mode))
        return await self._verify_session(session_id, check_mode(session_mode))

    # -- hosted session ------------------------------------------------------------------------

    async def _verify_session(self, biz_token: str, mode: str) -> FaceResult:
        params = {"BizToken": biz_token, "RuleId": self.rule_ids[mode], "InfoType": "1"}
        answer = await self._call("GetDetectInfoEnhanced", params)
        text: dict[str, Any] = answer.get("Text") or {}
        live_ok = text.get("LiveStatus") == 0
        return FaceResult.judge(
            liveness_score=1.0 if live_ok else 0.0, similarity=_sim(text.get("Sim")),
            thresholds=self.thresholds, provider=self.name,
            provider_request_id=str(answer.get("RequestId", "")),
            raw_code=f"ErrCode={text.get('ErrCode')};LiveStatus={text.get('LiveStatus')};"
                     f"Comparestatus={text.get('Comparestatus')}",
            message=str(text.get("ErrMsg") or text.get("LiveMsg") or ""), mode=mode)

    # -- uploaded video ------------------------------------------------------------------------

    async def _verify_upload(self, video: bytes, id_photo: bytes | None, name: str,
                             id_number: str, mode: str, validate_data: str) -> FaceResult:
        if not video:
            raise FaceInputInvalid("the liveness video is empty",
                                   details=[{"field": "capture", "error": "empty"}])
        params: dict[str, Any] = {"VideoBase64": base64.b64encode(video).decode(),
                                  "LivenessType": LIVENESS_TYPES[mode], "ValidateData": validate_data}
        if id_photo:
            action = "LivenessCompare"
            params["ImageBase64"] = base64.b64encode(id_photo).decode()
        elif name and id_number:
            action = "LivenessRecognition"
            params.update(IdCard=id_number, Name=name)
        else:
            raise FaceInputInvalid("compare with an ID photo or with name + ID number",
                                   details=[{"field": "id_photo", "error": "missing"}])
        answer = await self._call(action, params)
        result = str(answer.get("Result", ""))
        if result.startswith(REJECTED_PREFIXES):
            raise ProviderRejected(f"{self.name}: {result} {answer.get('Description', '')}",
                                   provider=self.name, raw_code=result,
                                   provider_request_id=str(answer.get("RequestId", "")))
        return FaceResult.judge(
            liveness_score=1.0 if result in LIVENESS_PASSED_RESULTS else 0.0,
            similarity=_sim(answer.get("Sim")), thresholds=self.thresholds, provider=self.name,
            provider_request_id=str(answer.get("RequestId", "")), raw_code=result,
            message=str(answer.get("Description", "")), mode=mode)

    # -- transport -----------------------------------------------------------------------------

    async def _call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        payload = json.dumps(params, ensure_ascii=False, separators=(",", ":")).encode()

        async def once() -> dict[str, Any]:
            timestamp = int(self._clock())
            headers = {
                "Content-Type": CONTENT_TYPE, "Host": self.host, "X-TC-Action": action,
                "X-TC-Version": VERSION, "X-TC-Timestamp": str(timestamp), "X-TC-Region": self.region,
                "Authorization": tc3_authorization(self._secret_id, self._secret_key, host=self.host,
                                                   action=action, payload=payload,
                                                   timestamp=timestamp)}
            request = self._client.build_request("POST", self.endpoint, content=payload,
                                                 headers=headers)
            return self._unwrap(await send(self._client, request, self.name))

        return await with_retries(once, self.retry, f"{self.name} {action}")

    def _unwrap(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 500:
            raise ProviderError(f"{self.name}: HTTP {response.status_code}", provider=self.name,
                                raw_code=f"http_{response.status_code}", retryable=True)
        answer = json_body(response, self.name).get("Response")
        if not isinstance(answer, dict):
            raise ProviderError(f"{self.name}: no Response object", provider=self.name,
                                raw_code=f"http_{response.status_code}")
        error = answer.get("Error")
        if isinstance(error, dict):
            raise _api_error(self.name, str(error.get("Code", "")), str(error.get("Message", "")),
                             str(answer.get("RequestId", "")))
        return answer


def _api_error(provider: str, code: str, message: str, request_id: str) -> ProviderError:
    kwargs = {"provider": provider, "raw_code": code, "provider_request_id": request_id}
    text = f"{provider}: {code} {message}"
    if code.startswith("RequestLimitExceeded"):
        return ProviderThrottled(text, **kwargs)
    if code.startswith(REJECTED_PREFIXES):
        return ProviderRejected(text, **kwargs)
    return ProviderError(text, retryable=code.startswith(RETRYABLE_PREFIXES), **kwargs)


def _sim(value: Any) -> float:
    """Tencent's 0..100 similarity as 0..1; absent or garbled -> 0 (fails any threshold)."""
    try:
        return max(0.0, min(1.0, float(value) / 100.0))
    except (TypeError, ValueError):
        return 0.0
