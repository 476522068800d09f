"""The insurer's own identity system [保司自有核身], plugged in instead of a market provider.

Two ways, both answering through ``IdentityProvider`` so results are recorded exactly like a
market provider's (``IdentityResult`` with provider, request id, raw code, message, time):

1. **Callback URL** (``INSURER_IDENTITY_URL`` + ``INSURER_IDENTITY_SECRET``):
   ``POST <url>`` with a JSON body::

       {"check": "two_factor" | "three_factor", "name": "...", "id_number": "...",
        "mobile": "..." (three-factor only), "request_id": "<uuid>", "timestamp": <unix seconds>}

   and headers ``Content-Type: application/json``, ``X-Request-Id: <request_id>``,
   ``X-Signature: hex(HMAC-SHA256(secret, raw body bytes))``. ``request_id`` is the same on
   every retry of one check, so the insurer can de-duplicate; ``timestamp`` is inside the
   signed body, so a captured request cannot be replayed later unnoticed.

   The insurer answers ``200`` with ``{"outcome": "match" | "mismatch" | "unknown",
   "code": "<its own code>", "message": "...", "request_id": "<its id>"}`` signed the same way
   (``X-Signature`` over the answer body; checked unless ``verify_answer_signature=False``).
   5xx and timeouts are retried with backoff; 429 is throttling (retried); other 4xx, a bad
   signature or an answer outside the contract are refusals (not retried).

2. **In-process plug-in** (``INSURER_IDENTITY_PLUGIN="package.module:ClassName"``): a class
   implementing ``IdentityProvider``; ``load_plugin`` imports and instantiates it (keyword
   options from ``INSURER_IDENTITY_PLUGIN_OPTIONS``, a JSON object) and wraps it so that its
   answers are checked to be ``IdentityResult``s and unexpected exceptions become
   ``ProviderError`` (code ``IDENTITY_PROVIDER_ERROR``) instead of crashing the flow.
"""
from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import time
import uuid
from typing import Any

import httpx

from face_verify.api import (
    OUTCOMES, IdentityProvider, IdentityResult, ProviderError, ProviderRejected, ProviderThrottled,
    RetryPolicy, json_body, send, utcnow, with_retries,
)


def sign_body(secret: str, body: bytes) -> str:
    """hex HMAC-SHA256 of the raw body bytes."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class InsurerCallbackIdentity(IdentityProvider):
    name = "insurer_callback"

    def __init__(self, url: str, secret: str, *, timeout: float = 5.0,
                 retry: RetryPolicy = RetryPolicy(), verify_answer_signature: bool = True,
                 client: httpx.AsyncClient | None = None) -> None:
        if not (url and secret):
            raise ValueError("the insurer identity callback needs a URL and a secret")
        self.url = url
        self._secret = secret
        self.retry = retry
        self.verify_answer_signature = verify_answer_signature
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def verify_two_factor(self, name: str, id_number: str) -> IdentityResult:
        return await self._check({"check": "two_factor", "name": name, "id_number": id_number})

    async def verify_three_factor(self, name: str, id_number: str, mobile: str) -> IdentityResult:
        return await self._check({"check": "three_factor", "name": name, "id_number": id_number,
                                  "mobile": mobile})

    async def _check(self, question: dict[str, Any]) -> IdentityResult:
        request_id = str(uuid.uuid4())
        body = json.dumps({**question, "request_id": request_id, "timestamp": int(time.time())},
                          ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Request-Id": request_id,
                   "X-Signature": sign_body(self._secret, body)}

        async def once() -> IdentityResult:
            request = self._client.build_request("POST", self.url, content=body, headers=headers)
            response = await send(self._client, request, self.name)
            return self._interpret(response, question["check"], request_id)

        return await with_retries(once, self.retry, f"{self.name} {question['check']}")

    def _interpret(self, response: httpx.Response, check: str, request_id: str) -> IdentityResult:
        status = response.status_code
        kwargs = {"provider": self.name, "raw_code": f"http_{status}", "provider_request_id": request_id}
        if status >= 500:
            raise ProviderError(f"{self.name}: HTTP {status}", retryable=True, **kwargs)
        if status == 429:
            raise ProviderThrottled(f"{self.name}: HTTP 429", **kwargs)
        if status != 200:
            raise ProviderRejected(f"{self.name}: HTTP {status}", **kwargs)
        if self.verify_answer_signature:
            expected = sign_body(self._secret, response.content)
            if not hmac.compare_digest(expected, response.headers.get("X-Signature", "")):
                raise ProviderRejected(f"{self.name}: the answer's X-Signature is wrong",
                                       **{**kwargs, "raw_code": "bad_answer_signature"})
        answer = json_body(response, self.name)
        outcome = answer.get("outcome")
        if outcome not in OUTCOMES:
            raise ProviderRejected(f"{self.name}: outcome {outcome!r} is not one of {OUTCOMES}",
                                   **{**kwargs, "raw_code": "bad_outcome"})
        return IdentityResult(outcome=outcome, provider=self.name,
                              provider_request_id=str(answer.get("request_id") or request_id),
                              raw_code=str(answer.get("code", "")),
                              message=str(answer.get("message", "")), checked_at=utcnow(),
                              check=check)


# --------------------------------------------------------------------------------------------
# In-process plug-in
# --------------------------------------------------------------------------------------------


class PluginError(ValueError):
    """The configured plug-in cannot be loaded; the message names INSURER_IDENTITY_PLUGIN."""


def load_plugin(spec: str, **options: Any) -> IdentityProvider:
    """Import ``package.module:ClassName``, instantiate it with ``options``, wrap it."""
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise PluginError(f"INSURER_IDENTITY_PLUGIN must look like 'package.module:ClassName', "
                          f"not {spec!r}")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"INSURER_IDENTITY_PLUGIN {spec!r} cannot be imported: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, IdentityProvider)):
        raise PluginError(f"INSURER_IDENTITY_PLUGIN {spec!r} is not an IdentityProvider subclass")
    try:
        instance = cls(**options)
    except TypeError as exc:
        raise PluginError(f"INSURER_IDENTITY_PLUGIN {spec!r} rejected its options: {exc}") from None
    return PluginIdentity(instance, spec)


class PluginIdentity(IdentityProvider):
    """Guards the flow against a plug-in's mistakes; its answers are recorded as they are."""

    def __init__(self, inner: IdentityProvider, spec: str) -> None:
        self.inner = inner
        self.spec = spec
        self.name = getattr(inner, "name", "") or spec

    async def verify_two_factor(self, name: str, id_number: str) -> IdentityResult:
        return await self._guard(self.inner.verify_two_factor(name, id_number))

    async def verify_three_factor(self, name: str, id_number: str, mobile: str) -> IdentityResult:
        return await self._guard(self.inner.verify_three_factor(name, id_number, mobile))

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def _guard(self, call: Any) -> IdentityResult:
        try:
            result = await call
        except ProviderError:
            raise
        except Exception as exc:  # noqa: BLE001 - a plug-in bug must not look like an answer
            raise ProviderError(f"identity plug-in {self.spec} failed: {type(exc).__name__}: {exc}",
                                provider=self.name, raw_code=type(exc).__name__,
                                retryable=False) from exc
        if not isinstance(result, IdentityResult):
            raise ProviderError(f"identity plug-in {self.spec} returned {type(result).__name__}, "
                                "not an IdentityResult", provider=self.name,
                                raw_code="bad_result", retryable=False)
        return result
