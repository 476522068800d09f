"""A fake WeChat web OAuth [公众号网页授权]: the authorize page (``/connect/oauth2/authorize``,
which, like WeChat for ``snsapi_base``, sends the browser straight back to ``redirect_uri`` with a
code and the state) and the code exchange (``/sns/oauth2/access_token``), answering as WeChat
does: JSON with ``access_token``/``openid``, or ``errcode``/``errmsg`` (40029 unknown code, 40163
code used twice, 40125 wrong secret). ``fail_next`` makes the next exchanges answer an HTTP
status (e.g. 503) or errcode -1 (system busy) first."""
from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlparse


class FakeWeChatOAuth:
    def __init__(self, app_id: str = "wx-oa-test", app_secret: str = "wx-oa-secret") -> None:
        self.app_id, self.app_secret = app_id, app_secret
        self.codes: dict[str, dict[str, str]] = {}
        self.used: set[str] = set()
        self.requests: list[tuple[str, dict[str, str]]] = []
        #: What the next code exchanges answer before the real one: an HTTP status (int >= 500)
        #: or {"errcode": ..., "errmsg": ...}.
        self.fail_next: list[Any] = []
        #: The openid that the authorize page issues its code for.
        self.next_openid = "o-oa-person-1"
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake.requests.append((url.path, query))
                if url.path == "/connect/oauth2/authorize":
                    return self._authorize(query)
                status, body = fake.answer(url.path, query)
                data = json.dumps(body).encode() if body is not None else b"busy"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")  # WeChat's own content type
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorize(self, query: dict[str, str]) -> None:
                if query.get("appid") != fake.app_id or query.get("scope") != "snsapi_base":
                    self.send_response(400)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                code = fake.issue_code(fake.next_openid)
                sep = "&" if "?" in query["redirect_uri"] else "?"
                self.send_response(302)
                self.send_header("Location", f"{query['redirect_uri']}{sep}code={code}"
                                             f"&state={quote(query.get('state', ''))}")
                self.send_header("Content-Length", "0")
                self.end_headers()

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
        code = os.urandom(16).hex()
        self.codes[code] = {"openid": openid, **({"unionid": unionid} if unionid else {})}
        return code

    def exchanges(self) -> list[dict[str, str]]:
        return [q for path, q in self.requests if path == "/sns/oauth2/access_token"]

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any] | None]:
        if path != "/sns/oauth2/access_token":
            return 200, {"errcode": 404, "errmsg": "unknown api"}
        with self._lock:
            if self.fail_next:
                failure = self.fail_next.pop(0)
                return (failure, None) if isinstance(failure, int) else (200, failure)
            if query.get("appid") != self.app_id or query.get("secret") != self.app_secret:
                return 200, {"errcode": 40125, "errmsg": "invalid appsecret"}
            if query.get("grant_type") != "authorization_code":
                return 200, {"errcode": 40002, "errmsg": "invalid grant_type"}
            code = query.get("code", "")
            if code in self.used:
                return 200, {"errcode": 40163, "errmsg": "code been used"}
            if code not in self.codes:
                return 200, {"errcode": 40029, "errmsg": "invalid code"}
            self.used.add(code)
            return 200, {"access_token": "fake-web-token-" + code[:8], "expires_in": 7200,
                         "refresh_token": "fake-refresh", "scope": "snsapi_base",
                         "is_snapshotuser": 0, **self.codes[code]}
