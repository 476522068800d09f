"""A fake WeChat API for mini-program login: /cgi-bin/token, /sns/jscode2session and
/wxa/business/getuserphonenumber, answering as WeChat does (errcode 40029 for unknown codes,
40163 for a code used twice)."""
from __future__ import annotations

import base64
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class FakeWeChatMini:
    def __init__(self, app_id: str = "wx-test-app", app_secret: str = "wx-secret") -> None:
        self.app_id, self.app_secret = app_id, app_secret
        self.codes: dict[str, dict[str, str]] = {}
        self.used: set[str] = set()
        self.phone_codes: dict[str, str] = {}
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                fake.requests.append(url.path)
                body = fake.answer(url.path, {k: v[0] for k, v in parse_qs(url.query).items()})
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                fake.requests.append(url.path)
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    payload = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    payload = {}
                body = fake.answer_post(url.path, {k: v[0] for k, v in
                                                   parse_qs(url.query).items()}, payload)
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def issue_code(self, openid: str, unionid: str | None = None) -> str:
        code = base64.urlsafe_b64encode(os.urandom(12)).decode()
        session_key = base64.b64encode(os.urandom(16)).decode()
        self.codes[code] = {"openid": openid, "session_key": session_key,
                            **({"unionid": unionid} if unionid else {})}
        return code

    def issue_phone_code(self, phone: str) -> str:
        """What wx getPhoneNumber hands the page in its newer form: a one-time code."""
        code = "ph-" + base64.urlsafe_b64encode(os.urandom(12)).decode()
        self.phone_codes[code] = phone
        return code

    def encrypt_phone(self, session_key: str, phone: str, app_id: str | None = None) -> tuple[str, str]:
        """What wx getPhoneNumber hands the page: (encryptedData, iv), both base64."""
        payload = json.dumps({"phoneNumber": phone, "purePhoneNumber": phone, "countryCode": "86",
                              "watermark": {"appid": app_id or self.app_id, "timestamp": 1}})
        iv = os.urandom(16)
        padder = padding.PKCS7(128).padder()
        data = padder.update(payload.encode()) + padder.finalize()
        enc = Cipher(algorithms.AES(base64.b64decode(session_key)), modes.CBC(iv)).encryptor()
        return base64.b64encode(enc.update(data) + enc.finalize()).decode(), base64.b64encode(iv).decode()

    def answer(self, path: str, query: dict[str, str]) -> dict[str, Any]:
        if path == "/cgi-bin/token":
            if query.get("secret") != self.app_secret:
                return {"errcode": 40001, "errmsg": "invalid credential"}
            return {"access_token": "fake-token", "expires_in": 7200}
        if path == "/sns/jscode2session":
            code = query.get("js_code", "")
            if query.get("appid") != self.app_id or query.get("secret") != self.app_secret:
                return {"errcode": 40125, "errmsg": "invalid appsecret"}
            if code in self.used:
                return {"errcode": 40163, "errmsg": "code been used"}
            if code not in self.codes:
                return {"errcode": 40029, "errmsg": "invalid code"}
            self.used.add(code)
            return self.codes[code]
        return {"errcode": 404, "errmsg": "unknown api"}

    def answer_post(self, path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        if path == "/wxa/business/getuserphonenumber":
            if query.get("access_token") != "fake-token":
                return {"errcode": 40001, "errmsg": "invalid credential"}
            phone = self.phone_codes.pop(str(body.get("code", "")), None)
            if phone is None:
                return {"errcode": 40029, "errmsg": "invalid code"}
            return {"errcode": 0, "errmsg": "ok", "phone_info": {
                "phoneNumber": phone, "purePhoneNumber": phone, "countryCode": "86",
                "watermark": {"appid": self.app_id, "timestamp": 1}}}
        return {"errcode": 404, "errmsg": "unknown api"}
