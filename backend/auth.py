"""Authenticate a business-system request signed per ``backend.signing_scheme``.

Checks, in order: headers present, app key known and active, timestamp within the allowed skew,
signature valid, nonce never seen (replay). Failures are counted per app key and client address,
so that a guessing client is throttled without locking the tenant's own systems out.
"""
from __future__ import annotations

import hmac
import time
from collections.abc import Mapping

from backend import signing_scheme as scheme
from backend.cache import Cache
from backend.errors import Forbidden, TooManyRequests, Unauthorized
from backend.fieldcrypt import FieldCipher
from backend.models.tenant import Tenant

MAX_FAILURES_PER_MINUTE = 30


class MissingAuthHeaders(Unauthorized):
    code, message = "AUTH_HEADERS_MISSING", "X-App-Key, X-Timestamp, X-Nonce and X-Signature are required"


class UnknownAppKey(Unauthorized):
    code, message = "UNKNOWN_APP_KEY", "unknown app key"


class TimestampOutOfRange(Unauthorized):
    code, message = "TIMESTAMP_OUT_OF_RANGE", "X-Timestamp is outside the allowed clock skew"


class BadSignature(Unauthorized):
    code, message = "BAD_SIGNATURE", "X-Signature does not match the request"


class NonceReplayed(Unauthorized):
    code, message = "NONCE_REPLAYED", "X-Nonce was already used"


class TenantDisabled(Forbidden):
    code, message = "TENANT_DISABLED", "this tenant is disabled"


class AuthRateLimited(TooManyRequests):
    code, message = "AUTH_RATE_LIMITED", "too many failed authentications, retry in a minute"


async def authenticate(method: str, path: str, query_string: str, headers: Mapping[str, str],
                       body: bytes, *, cache: Cache, cipher: FieldCipher, max_skew: int,
                       client_ip: str = "") -> Tenant:
    values = [headers.get(h) for h in (scheme.HEADER_APP_KEY, scheme.HEADER_TIMESTAMP,
                                        scheme.HEADER_NONCE, scheme.HEADER_SIGNATURE)]
    if not all(values):
        raise MissingAuthHeaders()
    app_key, timestamp, nonce, signature = values
    failures_key = f"authfail:{app_key[:64]}:{client_ip}:{int(time.time() // 60)}"
    failures = await cache.get(failures_key)
    if failures and int(failures) >= MAX_FAILURES_PER_MINUTE:
        raise AuthRateLimited()
    try:
        tenant = await _check(method, path, query_string, app_key, timestamp, nonce, signature,
                              body, cipher=cipher, max_skew=max_skew)
    except Unauthorized:
        await cache.incr(failures_key, 60)
        raise
    if not await cache.add(f"nonce:{app_key}:{nonce}", b"1", ttl=2 * max_skew + 60):
        raise NonceReplayed()
    return tenant


async def _check(method: str, path: str, query_string: str, app_key: str, timestamp: str,
                 nonce: str, signature: str, body: bytes, *, cipher: FieldCipher,
                 max_skew: int) -> Tenant:
    if not (8 <= len(nonce) <= 64) or len(app_key) > 64:
        raise MissingAuthHeaders("X-Nonce must be 8 to 64 characters")
    tenant = await Tenant.get_or_none(app_key=app_key)
    if tenant is None:
        raise UnknownAppKey()
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > max_skew:
        raise TimestampOutOfRange()
    secret = cipher.decrypt(tenant.app_secret_enc, "tenant.app_secret")
    expected = scheme.compute_signature(secret, method, path, query_string, timestamp, nonce, body)
    if not hmac.compare_digest(expected, signature.lower()):
        raise BadSignature()
    if not tenant.is_active:
        raise TenantDisabled()
    return tenant
