"""A business system's callback receiver on 127.0.0.1 that checks our HMAC like a real one would.

``fail_next(n, status)`` makes the next n requests fail; every request is recorded with whether
its signature verified.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class BusinessReceiver:
    def __init__(self) -> None:
        self.secret = ""
        self.received: list[dict[str, Any]] = []
        self._failures: list[int] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver._handle(self, body)

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/esign/callback"

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    def reset(self) -> None:
        with self._lock:
            self.received.clear()
            self._failures.clear()
            self.secret = ""

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        timestamp = handler.headers.get("X-Esign-Timestamp", "")
        expected = hmac.new(self.secret.encode(), timestamp.encode() + b"." + body,
                            hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(expected, handler.headers.get("X-Esign-Signature", ""))
        with self._lock:
            status = self._failures.pop(0) if self._failures else (200 if valid else 401)
            self.received.append({"event_id": handler.headers.get("X-Esign-Event-Id"),
                                  "body": json.loads(body), "signature_valid": valid,
                                  "status": status})
        handler.send_response(status)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
