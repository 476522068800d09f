"""Fake notification providers: real HTTP/SMTP servers on 127.0.0.1 for the ``notify`` tests.

* :class:`FakeAliyunSms`: Dysmsapi ``SendSms``; verifies the RPC signature the way Aliyun does
  (HMAC-SHA1 over the canonicalised parameters, written here independently of the SDK),
  rejects stale timestamps and reused nonces, validates number / sign name / template params.
* :class:`FakeWeChat`: ``/cgi-bin/token`` and ``/cgi-bin/message/subscribe/send`` with token
  issue, expiry and invalidation.
* :class:`FakeDingTalk`: ``/gettoken`` and ``/topapi/message/corpconversation/asyncsend_v2``.
* :class:`FakeSmtp`: an aiosmtpd ``Controller`` collecting messages, with refusals, AUTH and
  optional STARTTLS (self-signed certificate for 127.0.0.1).

Scenarios (``server.scenario = "..."`` for every send, or ``server.script("a", "b")`` for the
next sends only): ``ok``, ``throttled``, ``invalid_number`` / ``refused`` / ``invalid_user``,
``template``, ``token_expired_once``, ``token_invalid``, ``busy``, ``error_500``, ``slow``.
Every request is recorded (``server.requests``), so tests can count what reached the provider.
"""
from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import hashlib
import hmac
import itertools
import json
import os
import re
import socket
import ssl
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

Answer = tuple[int, Any]


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


class _Handler(BaseHTTPRequestHandler):
    fake: "FakeHttpServer"

    def log_message(self, *args: Any) -> None:  # keep pytest output quiet
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Recorded(self.command, parts.path,
                           dict(parse_qsl(parts.query, keep_blank_values=True)),
                           {k.lower(): v for k, v in self.headers.items()},
                           self.rfile.read(length) if length else b"")
        status, payload = self.fake.dispatch(request)
        body = payload if isinstance(payload, bytes) else json.dumps(
            payload, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout scenario)


class FakeHttpServer:
    """A ThreadingHTTPServer in a daemon thread with scenarios and a request log."""

    send_path = ""

    def __init__(self, slow_seconds: float = 1.5) -> None:
        self.requests: list[Recorded] = []
        self.scenario = "ok"
        self.slow_seconds = slow_seconds
        self._script: deque[str] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeHttpServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def script(self, *scenarios: str) -> None:
        """Use these scenarios for the next send requests, then fall back to ``scenario``."""
        with self._lock:
            self._script.extend(scenarios)

    def sends(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == self.send_path]

    def next_id(self) -> int:
        return next(self._ids)

    def dispatch(self, request: Recorded) -> Answer:
        with self._lock:
            self.requests.append(request)
        return self.handle(request)

    def take_scenario(self) -> str:
        with self._lock:
            return self._script.popleft() if self._script else self.scenario

    def common(self, scenario: str) -> Answer | None:
        """Scenarios every provider shares; None means "answer normally"."""
        if scenario == "slow":
            time.sleep(self.slow_seconds)
            return None
        if scenario == "error_500":
            return 500, b"<html><body>502 Bad Gateway</body></html>"
        return None

    def handle(self, request: Recorded) -> Answer:
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# Aliyun Dysmsapi
# --------------------------------------------------------------------------------------------
def percent_encode(value: str) -> str:
    """RFC 3986 as Aliyun specifies: UTF-8, only A-Z a-z 0-9 - _ . ~ unescaped, space = %20."""
    return quote(value, safe="~")


def rpc_string_to_sign(method: str, params: dict[str, str]) -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}"
                         for k, v in sorted(params.items()))
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def rpc_signature(secret: str, string_to_sign: str) -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


_MAINLAND_MOBILE = re.compile(r"^(?:\+?86|0086)?1[3-9]\d{9}$")


class FakeAliyunSms(FakeHttpServer):
    send_path = "/"
    SIGN_NAMES = ("测试保险",)
    TEMPLATES = {"SMS_100001": ("name", "doc_title", "url"), "SMS_100002": ("code", "minutes"),
                 "SMS_100003": ("name", "doc_title")}

    def __init__(self, access_key_id: str = "LTAI-test-id",
                 access_key_secret: str = "test-secret", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.credentials = {access_key_id: access_key_secret}
        self.accepted: list[dict[str, str]] = []
        self._nonces: set[str] = set()

    def handle(self, request: Recorded) -> Answer:
        params = dict(request.query)
        if request.headers.get("content-type", "").startswith("application/x-www-form"):
            params.update(request.form())
        refusal = self.check_signature(request.method, params)
        if refusal:
            return refusal
        if params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25":
            return 404, self._error("InvalidAction.NotFound", "Specified api is not found")
        scenario = self.take_scenario()
        return self.common(scenario) or self._send(params, scenario)

    def check_signature(self, method: str, params: dict[str, str]) -> Answer | None:
        secret = self.credentials.get(params.get("AccessKeyId", ""))
        if secret is None:
            return 404, self._error("InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            return 400, self._error("InvalidParameter", "SignatureMethod/SignatureVersion")
        signature = params.pop("Signature", "")
        expected_sts = rpc_string_to_sign(method, params)
        if not hmac.compare_digest(signature, rpc_signature(secret, expected_sts)):
            return 400, self._error(
                "SignatureDoesNotMatch",
                f"Specified signature is not matched with our calculation. server string to sign is:{expected_sts}")
        try:
            stamp = dt.datetime.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            return 400, self._error("InvalidTimeStamp.Format", "Specified time stamp is invalid.")
        if abs(dt.datetime.utcnow() - stamp) > dt.timedelta(minutes=15):
            return 400, self._error("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        with self._lock:
            if params.get("SignatureNonce", "") in self._nonces:
                return 400, self._error("SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces.add(params.get("SignatureNonce", ""))
        return None

    def _send(self, params: dict[str, str], scenario: str) -> Answer:
        business = {
            "throttled": ("isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5"),
            "invalid_number": ("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"),
            "template": ("isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量"),
            "busy": ("isp.SYSTEM_ERROR", "isp.SYSTEM_ERROR"),
        }.get(scenario) or self._validate(params)
        if scenario == "api_throttled":
            return 400, self._error("Throttling.User", "Request was denied due to user flow control.")
        if business:
            return 200, self._error(*business)
        biz_id = f"{self.next_id():06d}^0"
        with self._lock:
            self.accepted.append({**params, "BizId": biz_id})
        return 200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": str(uuid.uuid4())}

    def _validate(self, params: dict[str, str]) -> tuple[str, str] | None:
        if not _MAINLAND_MOBILE.match(params.get("PhoneNumbers", "")):
            return "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"
        if params.get("SignName") not in self.SIGN_NAMES:
            return "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名"
        names = self.TEMPLATES.get(params.get("TemplateCode", ""))
        if names is None:
            return "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板"
        try:
            values = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值"
        if any(not isinstance(values.get(n), str) for n in names):
            return "isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量"
        return None

    def delivery_report(self, *, success: bool = True, err_code: str | None = None) -> list[dict]:
        """The SmsReport array Aliyun would push for every accepted message."""
        now = (dt.datetime.utcnow() + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")
        return [{"phone_number": m["PhoneNumbers"], "send_time": now, "report_time": now,
                 "success": success, "err_code": err_code or ("DELIVERED" if success else "MK:0001"),
                 "err_msg": "用户接收成功" if success else "失败", "sms_size": "1",
                 "biz_id": m["BizId"], "out_id": m.get("OutId", "")} for m in self.accepted]

    @staticmethod
    def _error(code: str, message: str) -> dict[str, str]:
        return {"Code": code, "Message": message, "RequestId": str(uuid.uuid4())}


# --------------------------------------------------------------------------------------------
# Token-based providers (WeChat, DingTalk)
# --------------------------------------------------------------------------------------------
class _TokenIssuer(FakeHttpServer):
    expired_code = 42001
    invalid_code = 40001

    def __init__(self, expires_in: int = 7200, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.expires_in = expires_in
        self.tokens: dict[str, bool] = {}  # token -> still valid
        self.token_fetches = 0

    def issue(self) -> dict[str, Any]:
        token = f"token-{uuid.uuid4().hex[:12]}"
        with self._lock:
            self.tokens[token] = True
            self.token_fetches += 1
        return {"access_token": token, "expires_in": self.expires_in}

    def expire_tokens(self) -> None:
        with self._lock:
            self.tokens = {t: False for t in self.tokens}

    def token_refusal(self, token: str, scenario: str) -> Answer | None:
        if scenario == "token_expired_once":
            self.expire_tokens()
        if scenario == "token_invalid":
            return 200, self.error(self.invalid_code, "invalid credential, access_token is invalid")
        valid = self.tokens.get(token)
        if valid is None:
            return 200, self.error(self.invalid_code, "invalid credential, access_token is invalid")
        if not valid:
            return 200, self.error(self.expired_code, "access_token expired")
        return None

    @staticmethod
    def error(code: int, message: str) -> dict[str, Any]:
        return {"errcode": code, "errmsg": message}


class FakeWeChat(_TokenIssuer):
    send_path = "/cgi-bin/message/subscribe/send"

    def __init__(self, app_id: str = "wx-test-app", app_secret: str = "wx-secret",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app_id, self.app_secret = app_id, app_secret

    def handle(self, request: Recorded) -> Answer:
        if request.path == "/cgi-bin/token":
            return self._token(request.query)
        if request.path == self.send_path and request.method == "POST":
            scenario = self.take_scenario()
            return (self.common(scenario)
                    or self.token_refusal(request.query.get("access_token", ""), scenario)
                    or self._send(request, scenario))
        return 404, self.error(404, "not found")

    def _token(self, query: dict[str, str]) -> Answer:
        if query.get("grant_type") != "client_credential" or query.get("appid") != self.app_id:
            return 200, self.error(40013, "invalid appid")
        if query.get("secret") != self.app_secret:
            return 200, self.error(40125, "invalid appsecret")
        return 200, self.issue()

    def _send(self, request: Recorded, scenario: str) -> Answer:
        fixed = {"refused": (43101, "user refuse to accept the msg"),
                 "throttled": (45009, "reach max api daily quota limit"),
                 "template": (47003, "argument invalid! data.thing1.value invalid"),
                 "busy": (-1, "system error")}.get(scenario)
        if fixed:
            return 200, self.error(*fixed)
        body = request.json()
        if not body.get("touser") or not body.get("template_id") or not isinstance(body.get("data"), dict):
            return 200, self.error(47001, "data format error")
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": self.next_id()}


class FakeDingTalk(_TokenIssuer):
    send_path = "/topapi/message/corpconversation/asyncsend_v2"
    invalid_code = 40014

    def __init__(self, app_key: str = "ding-test-key", app_secret: str = "ding-secret",
                 agent_id: int = 2001, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app_key, self.app_secret, self.agent_id = app_key, app_secret, agent_id

    def handle(self, request: Recorded) -> Answer:
        if request.path == "/gettoken":
            if (request.query.get("appkey"), request.query.get("appsecret")) != (
                    self.app_key, self.app_secret):
                return 200, self.error(40089, "不合法的corpid或corpsecret")
            return 200, {"errcode": 0, "errmsg": "ok", **self.issue()}
        if request.path == self.send_path and request.method == "POST":
            scenario = self.take_scenario()
            return (self.common(scenario)
                    or self.token_refusal(request.query.get("access_token", ""), scenario)
                    or self._send(request, scenario))
        return 404, self.error(404, "请求的URI地址不存在")

    def _send(self, request: Recorded, scenario: str) -> Answer:
        fixed = {"throttled": (90018, "当前企业所有应用调用该接口的频率超过限制"),
                 "invalid_user": (33012, "无效的USERID"),
                 "busy": (-1, "系统繁忙")}.get(scenario)
        if fixed:
            return 200, self.error(*fixed)
        body = request.json()
        if body.get("agent_id") != self.agent_id:
            return 200, self.error(60020, "访问ip不在白名单之中或agent_id不匹配")
        if not body.get("userid_list") or "msgtype" not in body.get("msg", {}):
            return 200, self.error(40035, "缺少参数 userid_list 或 msg")
        return 200, {"errcode": 0, "errmsg": "ok", "task_id": 256271667500 + self.next_id(),
                     "request_id": uuid.uuid4().hex[:12]}


# --------------------------------------------------------------------------------------------
# SMTP
# --------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class _SmtpHandler:
    reject: dict[str, str] = field(default_factory=dict)
    slow_seconds: float = 0.0
    messages: list[Any] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.reject:
            return self.reject[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.slow_seconds:
            import asyncio
            await asyncio.sleep(self.slow_seconds)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append({"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                              "message": parsed, "tls": session.ssl is not None,
                              "auth": session.authenticated})
        return "250 Message accepted for delivery"


class FakeSmtp:
    """aiosmtpd server on a free 127.0.0.1 port. ``users`` enables AUTH (PLAIN/LOGIN);
    ``tls=True`` offers STARTTLS with a self-signed certificate (``ca_pem`` to trust it)."""

    def __init__(self, *, users: dict[str, str] | None = None, tls: bool = False) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.handler = _SmtpHandler()
        self.users = users or {}
        self.port = free_port()
        self.ca_pem: bytes | None = None
        kwargs: dict[str, Any] = {}
        if tls:
            context, self.ca_pem = _self_signed_context()
            kwargs.update(tls_context=context, require_starttls=False)
        if users is not None:
            def authenticate(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
                ok = (isinstance(auth_data, LoginPassword)
                      and self.users.get(auth_data.login.decode()) == auth_data.password.decode())
                return AuthResult(success=ok, handled=False)
            kwargs.update(authenticator=authenticate, auth_require_tls=tls, auth_required=True)
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                      server_hostname="fake-smtp.test", **kwargs)

    @property
    def messages(self) -> list[Any]:
        return self.handler.messages

    def reject(self, address: str, reply: str) -> None:
        self.handler.reject[address] = reply

    def start(self) -> "FakeSmtp":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def client_context(self) -> ssl.SSLContext:
        """An SSL context trusting this server's certificate (for the STARTTLS tests)."""
        context = ssl.create_default_context()
        if self.ca_pem:
            context.load_verify_locations(cadata=self.ca_pem.decode())
        return context


def _self_signed_context() -> tuple[ssl.SSLContext, bytes]:
    import ipaddress
    import tempfile

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False) as handle:
        handle.write(cert_pem + key_pem)
    try:
        context.load_cert_chain(handle.name)
    finally:
        os.unlink(handle.name)
    return context, cert_pem
