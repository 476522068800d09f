"""Fake identity providers: real HTTP servers on 127.0.0.1 that answer like the real ones.

Each runs the stdlib ``ThreadingHTTPServer`` in a daemon thread, checks credentials the way the
provider does (AppCode, TC3-HMAC-SHA256 recomputed independently of the adapter's code, the
insurer's HMAC), records every request (to prove retries happen, or do not) and answers per
scenario. ``server.scenario`` is the standing scenario; ``server.script(...)`` queues one-shot
scenarios served first (e.g. ``script("error500", "match")`` to test one retry).

Scenarios: ``match`` / ``mismatch`` / ``unknown`` (definite answers), ``error500``,
``backend_error`` (code 501), ``source_error`` (res -1), ``bad_param`` (code 20010),
``throttled`` (403 Throttled by APP Flow Control), ``quota`` (403 Quota Exhausted),
``timeout`` (sleeps ``slow_seconds``, longer than the client's timeout), ``garbled``;
Tencent: ``pass``, ``low_similarity``, ``liveness_fail``, ``internal_error``, ``throttled``,
``decode_fail``, ``error500``, ``timeout``; insurer: ``match`` / ``mismatch`` / ``unknown``,
``error500``, ``throttled``, ``timeout``, ``bad_answer_signature``, ``bad_outcome``.
"""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from face_verify.api import IdentityProvider, IdentityResult, utcnow


@dataclasses.dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body.decode()))

    def json(self) -> Any:
        return json.loads(self.body)


@dataclasses.dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    sleep: float = 0.0


def json_reply(data: Any, status: int = 200, **headers: str) -> Reply:
    body = json.dumps(data, ensure_ascii=False).encode()
    return Reply(status, body, {"Content-Type": "application/json; charset=utf-8", **headers})


class FakeServer:
    """Base: threading HTTP server, request log, scenario queue. Subclasses implement answer()."""

    default_scenario = "match"

    def __init__(self) -> None:
        self.scenario = self.default_scenario
        self.slow_seconds = 1.5
        self.requests: list[Seen] = []
        self._queue: collections.deque[str] = collections.deque()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, *scenarios: str) -> None:
        with self._lock:
            self._queue.extend(scenarios)

    def count(self, path: str | None = None) -> int:
        return sum(1 for r in self.requests if path is None or r.path == path)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._queue.clear()
        self.scenario = self.default_scenario

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def next_scenario(self) -> str:
        with self._lock:
            return self._queue.popleft() if self._queue else self.scenario

    def answer(self, seen: Seen) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen("POST", urllib.parse.urlsplit(self.path).path,
                            {k.lower(): v for k, v in self.headers.items()},
                            self.rfile.read(length), time.monotonic())
                with fake._lock:
                    fake.requests.append(seen)
                reply = fake.answer(seen)
                if reply.sleep:
                    time.sleep(reply.sleep)
                try:
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout scenario)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


# --------------------------------------------------------------------------------------------
# Aliyun cloud market (person two-/three-factor, enterprise, micro-payment)
# --------------------------------------------------------------------------------------------

MARKET_PATHS = {
    "/mobile/verify_real_name": ("name", "idcard", "mobile"),
    "/eid/check": ("name", "idcard"),
    "/enterprise/verify": ("company_name", "credit_code", "legal_person"),
    "/micropay/start": ("account_name", "bank_account", "bank_code"),
    "/micropay/check": ("challenge_id", "amount_cents"),
}
RES = {"match": ("1", "一致"), "mismatch": ("2", "不一致"), "unknown": ("3", "无记录")}
MICRO_AMOUNT_CENTS = 37


class FakeAliyunMarket(FakeServer):
    def __init__(self, appcode: str = "test-appcode-0123456789abcdef") -> None:
        self.appcode = appcode
        self.challenges: dict[str, int] = {}
        super().__init__()

    def answer(self, seen: Seen) -> Reply:
        request_id = str(uuid.uuid4()).upper()
        if seen.path not in MARKET_PATHS:
            return self._gateway(400, "Invalid Url", request_id)
        if seen.headers.get("authorization") != f"APPCODE {self.appcode}":
            return self._gateway(400, "Invalid AppCode `not exists`", request_id)
        form = seen.form()
        if any(not form.get(f) for f in MARKET_PATHS[seen.path]):
            return json_reply({"code": "400", "message": "参数错误", "result": None},
                              **{"X-Ca-Request-Id": request_id})
        return self._scenario_reply(self.next_scenario(), seen.path, form, request_id)

    def _scenario_reply(self, scenario: str, path: str, form: dict[str, str], rid: str) -> Reply:
        gateway = {"error500": (500, "Internal Error"), "throttled": (403, "Throttled by APP Flow Control"),
                   "quota": (403, "Quota Exhausted")}
        if scenario in gateway:
            return self._gateway(*gateway[scenario], rid)
        if scenario == "timeout":
            reply = self._result("1", "一致", form, rid)
            reply.sleep = self.slow_seconds
            return reply
        if scenario == "garbled":
            return Reply(200, b"<html>502 Bad Gateway</html>", {"Content-Type": "text/html"})
        codes = {"backend_error": ("501", "第三方服务异常"), "bad_param": ("20010", "身份证号为空或非法")}
        if scenario in codes:
            code, message = codes[scenario]
            return json_reply({"code": code, "message": message, "result": None}, **{"X-Ca-Request-Id": rid})
        if scenario == "source_error":
            return self._result("-1", "异常", form, rid)
        if path.startswith("/micropay/"):
            return self._micropay(path, form, rid)
        return self._result(*RES[scenario], form, rid)

    def _micropay(self, path: str, form: dict[str, str], rid: str) -> Reply:
        if path.endswith("/start"):
            challenge_id = f"mp-{uuid.uuid4().hex[:12]}"
            self.challenges[challenge_id] = MICRO_AMOUNT_CENTS
            return json_reply({"code": "0", "message": "成功",
                               "result": {"challenge_id": challenge_id, "expires_in": 172800}},
                              **{"X-Ca-Request-Id": rid})
        expected = self.challenges.get(form["challenge_id"])
        if expected is None:
            return self._result("3", "无此验证", form, rid)
        right = int(form["amount_cents"]) == expected
        return self._result("1" if right else "2", "金额一致" if right else "金额不一致", form, rid)

    @staticmethod
    def _result(res: str, description: str, form: dict[str, str], rid: str) -> Reply:
        result = {**form, "res": res, "description": description, "sex": "男",
                  "birthday": "19491231", "address": "北京市朝阳区"}
        return json_reply({"code": "0", "message": "成功", "result": result},
                          **{"X-Ca-Request-Id": rid})

    @staticmethod
    def _gateway(status: int, message: str, rid: str) -> Reply:
        return Reply(status, b"", {"X-Ca-Error-Message": message, "X-Ca-Request-Id": rid})


# --------------------------------------------------------------------------------------------
# Tencent Cloud FaceID (TC3-HMAC-SHA256 verified as the API does)
# --------------------------------------------------------------------------------------------

_AUTH_RE = re.compile(r"^TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([a-z]+)/tc3_request, "
                      r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")


def tc3_expected_signature(secret_key: str, seen: Seen, date: str, service: str,
                           signed_headers: str) -> str:
    """Independent re-implementation of the verification: canonical headers come from the
    request as received, keys and values lower-cased and trimmed, in SignedHeaders order."""
    names = signed_headers.split(";")
    canonical_headers = "".join(f"{n}:{seen.headers.get(n, '').strip().lower()}\n" for n in names)
    canonical_request = (f"{seen.method}\n{seen.path}\n\n{canonical_headers}\n{signed_headers}\n"
                         f"{hashlib.sha256(seen.body).hexdigest()}")
    timestamp = seen.headers.get("x-tc-timestamp", "")
    string_to_sign = (f"TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n"
                      f"{hashlib.sha256(canonical_request.encode()).hexdigest()}")
    key = ("TC3" + secret_key).encode()
    for part in (date, service, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


class FakeTencentFaceID(FakeServer):
    default_scenario = "pass"
    actions = ("DetectAuth", "GetDetectInfoEnhanced", "LivenessCompare", "LivenessRecognition")

    def __init__(self, secret_id: str = "AKIDfaketest0001", secret_key: str = "fake-secret-key-0001",
                 max_skew: int = 300) -> None:
        self.secret_id, self.secret_key, self.max_skew = secret_id, secret_key, max_skew
        self.sim = 95.5
        self.tokens: dict[str, dict[str, Any]] = {}
        super().__init__()

    def answer(self, seen: Seen) -> Reply:
        rid = str(uuid.uuid4())
        problem = self._auth_problem(seen)
        if problem:
            return self._error(problem, "signature check failed", rid)
        action = seen.headers.get("x-tc-action", "")
        if action not in self.actions or seen.headers.get("x-tc-version") != "2018-03-01":
            return self._error("InvalidAction", f"{action} is not valid", rid)
        scenario = self.next_scenario()
        if scenario == "error500":
            return Reply(502, b"bad gateway", {"Content-Type": "text/plain"})
        errors = {"internal_error": "InternalError", "throttled": "RequestLimitExceeded"}
        if scenario in errors:
            return self._error(errors[scenario], scenario, rid)
        reply = getattr(self, f"_{action}")(seen.json(), scenario, rid)
        if scenario == "timeout":
            reply.sleep = self.slow_seconds
        return reply

    def _auth_problem(self, seen: Seen) -> str:
        match = _AUTH_RE.match(seen.headers.get("authorization", ""))
        if not match:
            return "AuthFailure.InvalidAuthorization"
        secret_id, date, service, signed_headers, signature = match.groups()
        if secret_id != self.secret_id:
            return "AuthFailure.SecretIdNotFound"
        if {"content-type", "host"} - set(signed_headers.split(";")) or service != "faceid":
            return "AuthFailure.InvalidAuthorization"
        try:
            timestamp = int(seen.headers.get("x-tc-timestamp", ""))
        except ValueError:
            return "AuthFailure.InvalidAuthorization"
        if abs(time.time() - timestamp) > self.max_skew:
            return "AuthFailure.SignatureExpire"
        if dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).strftime("%Y-%m-%d") != date:
            return "AuthFailure.SignatureFailure"
        expected = tc3_expected_signature(self.secret_key, seen, date, service, signed_headers)
        return "" if hmac.compare_digest(expected, signature) else "AuthFailure.SignatureFailure"

    def _DetectAuth(self, params: dict[str, Any], scenario: str, rid: str) -> Reply:  # noqa: N802
        if not params.get("RuleId"):
            return self._error("InvalidParameter.RuleId", "RuleId is required", rid)
        token = str(uuid.uuid4()).upper()
        self.tokens[token] = params
        return self._ok({"Url": f"https://faceid.qq.com/api/auth/h5.html?token={token}",
                         "BizToken": token}, rid)

    def _GetDetectInfoEnhanced(self, params: dict[str, Any], scenario: str, rid: str) -> Reply:  # noqa: N802
        session = self.tokens.get(params.get("BizToken", ""))
        if session is None:
            return self._error("InvalidParameterValue.BizTokenIllegal", "BizToken illegal", rid)
        live, compare, sim = {"pass": (0, 0, self.sim), "low_similarity": (0, -1, 40.0),
                              "liveness_fail": (-1, -1, 0.0)}.get(scenario, (0, 0, self.sim))
        text = {"ErrCode": 0 if live == compare == 0 else -1, "ErrMsg": "成功" if live == compare == 0 else "失败",
                "IdCard": session.get("IdCard"), "Name": session.get("Name"), "LiveStatus": live,
                "LiveMsg": "成功" if live == 0 else "活体检测失败", "Comparestatus": compare,
                "Comparemsg": "成功" if compare == 0 else "比对失败", "Sim": f"{sim:.2f}",
                "Extra": session.get("Extra"), "LivenessMode": 3}
        return self._ok({"Text": text}, rid)

    def _LivenessCompare(self, params: dict[str, Any], scenario: str, rid: str) -> Reply:  # noqa: N802
        if not params.get("ImageBase64") or not params.get("VideoBase64"):
            return self._error("InvalidParameter", "ImageBase64 and VideoBase64 are required", rid)
        return self._liveness(params, scenario, rid)

    def _LivenessRecognition(self, params: dict[str, Any], scenario: str, rid: str) -> Reply:  # noqa: N802
        if not (params.get("IdCard") and params.get("Name") and params.get("VideoBase64")):
            return self._error("InvalidParameter", "IdCard, Name and VideoBase64 are required", rid)
        return self._liveness(params, scenario, rid)

    def _liveness(self, params: dict[str, Any], scenario: str, rid: str) -> Reply:
        if params.get("LivenessType") not in ("LIP", "ACTION", "SILENT"):
            return self._error("InvalidParameterValue", "LivenessType", rid)
        result, description, sim = {
            "low_similarity": ("FailedOperation.CompareLowSimilarity", "比对相似度未达到通过标准", 40.0),
            "liveness_fail": ("FailedOperation.SilentDetectFail", "静默活体检测未通过", 0.0),
            "decode_fail": ("FailedOperation.VideoDecodeFailed", "视频解码失败", 0.0),
        }.get(scenario, ("Success", "成功", self.sim))
        return self._ok({"Result": result, "Description": description, "Sim": sim,
                         "BestFrameBase64": ""}, rid)

    @staticmethod
    def _ok(data: dict[str, Any], rid: str) -> Reply:
        return json_reply({"Response": {**data, "RequestId": rid}})

    @staticmethod
    def _error(code: str, message: str, rid: str) -> Reply:
        return json_reply({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": rid}})


# --------------------------------------------------------------------------------------------
# The insurer's own identity system
# --------------------------------------------------------------------------------------------


class FakeInsurerIdentity(FakeServer):
    path = "/identity/verify"

    def __init__(self, secret: str = "insurer-shared-secret-0001") -> None:
        self.secret = secret
        super().__init__()

    @property
    def endpoint(self) -> str:
        return self.url + self.path

    def sign(self, body: bytes) -> str:
        return hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()

    def answer(self, seen: Seen) -> Reply:
        if seen.path != self.path:
            return json_reply({"error": "not found"}, 404)
        if not hmac.compare_digest(self.sign(seen.body), seen.headers.get("x-signature", "")):
            return json_reply({"error": "bad signature"}, 401)
        scenario = self.next_scenario()
        if scenario in ("error500", "throttled"):
            return json_reply({"error": scenario}, 500 if scenario == "error500" else 429)
        question = seen.json()
        outcome = "match" if scenario in ("timeout", "bad_answer_signature") else scenario
        if scenario == "bad_outcome":
            outcome = "probably"
        body = json.dumps({"outcome": outcome, "code": f"INS-{outcome.upper()}",
                           "message": f"insurer says {outcome}",
                           "request_id": f"ins-{question['request_id'][:8]}"}).encode()
        signature = "0" * 64 if scenario == "bad_answer_signature" else self.sign(body)
        return Reply(200, body, {"Content-Type": "application/json", "X-Signature": signature},
                     sleep=self.slow_seconds if scenario == "timeout" else 0.0)


# --------------------------------------------------------------------------------------------
# A sample in-process plug-in (load_plugin("tests.fakes.identity_servers:SamplePlugin"))
# --------------------------------------------------------------------------------------------


class SamplePlugin(IdentityProvider):
    """Answers from a fixed list of known people; anything else is unknown to it."""

    name = "sample_insurer_plugin"

    def __init__(self, known: dict[str, str] | None = None, fail: bool = False) -> None:
        self.known = known or {}
        self.fail = fail

    async def verify_two_factor(self, name: str, id_number: str) -> IdentityResult:
        if self.fail:
            raise RuntimeError("plug-in bug")
        if id_number not in self.known:
            outcome = "unknown"
        else:
            outcome = "match" if self.known[id_number] == name else "mismatch"
        return IdentityResult(outcome=outcome, provider=self.name, provider_request_id="plugin-1",
                              raw_code=outcome.upper(), message="sample plug-in",
                              checked_at=utcnow(), check="two_factor")

    async def verify_three_factor(self, name: str, id_number: str, mobile: str) -> IdentityResult:
        return "match"  # type: ignore[return-value] - a deliberately wrong plug-in answer
