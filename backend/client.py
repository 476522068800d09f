"""A tiny client for the business REST API that signs every request.

    from backend.client import ApiClient
    api = ApiClient("http://127.0.0.1:8000", app_key, app_secret)
    api.get("/api/v1/whoami").json()
    api.post("/api/v1/callbacks", {"url": "https://crm.example.com/hook",
                                   "events": ["envelope.completed"]}, idempotency_key="req-1")
"""
from __future__ import annotations

import json as jsonlib
from typing import Any
from urllib.parse import urlencode

import httpx

from backend.signing_scheme import signed_headers


class ApiClient:
    def __init__(self, base_url: str, app_key: str, app_secret: str, timeout: float = 30) -> None:
        self.app_key, self.app_secret = app_key, app_secret
        self._http = httpx.Client(base_url=base_url, timeout=timeout)

    def request(self, method: str, path: str, json: Any = None, params: dict | None = None, *,
                content: bytes | None = None, idempotency_key: str | None = None,
                headers: dict[str, str] | None = None) -> httpx.Response:
        body = content if content is not None else (
            jsonlib.dumps(json, ensure_ascii=False).encode() if json is not None else b"")
        query = urlencode(params or {}, doseq=True)
        all_headers = signed_headers(self.app_key, self.app_secret, method, path, query, body)
        if body and content is None:
            all_headers["Content-Type"] = "application/json"
        if idempotency_key:
            all_headers["Idempotency-Key"] = idempotency_key
        all_headers.update(headers or {})
        url = f"{path}?{query}" if query else path
        return self._http.request(method, url, content=body, headers=all_headers)

    def get(self, path: str, params: dict | None = None, **kw: Any) -> httpx.Response:
        return self.request("GET", path, params=params, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.request("POST", path, json=json, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "ApiClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
