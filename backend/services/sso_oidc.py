"""Single sign-on by OpenID Connect: authorization code flow with PKCE (S256) [单点登录].

1. ``start``: a random ``state`` (kept 10 minutes in the cache with the tenant, a ``nonce`` and
   the PKCE ``code_verifier``) and the provider's authorization URL.
2. ``finish``: the ``state`` is consumed once, the code is exchanged at the token endpoint
   (``client_secret_post`` + ``code_verifier``) and the ID token is verified here, by hand and
   strictly: compact JWS with exactly three parts, header ``alg`` in the allow-list (RS256 only:
   ``none`` and HMAC algorithms are refused), the key found by ``kid`` in the provider's JWKS
   (fetched again once for an unknown ``kid``: key rotation), the RSA PKCS#1 v1.5 SHA-256
   signature, then ``iss`` == the issuer, ``aud`` contains the client id (and ``azp`` is the client
   when there are several audiences), ``exp`` in the future and ``iat`` not in the future (60 s
   leeway), ``nonce`` equal to the one of this login.
3. The claim ``OIDC_USER_CLAIM`` names the user by their business-system id (``push_id``); an
   active user of the tenant gets a session.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from backend import audit
from backend.errors import AppError, BadRequest, NotFound, Unauthorized
from backend.ids import parse_uuid
from backend.models.org import User
from backend.models.tenant import Tenant
from backend.services import admin_sessions

ALLOWED_ALGS = frozenset({"RS256"})
LEEWAY_SECONDS = 60
STATE_TTL_SECONDS = 600
METADATA_TTL_SECONDS = 600
JWKS_REFRESH_SECONDS = 30
_metadata: dict[str, tuple[float, dict[str, Any]]] = {}
_jwks: dict[str, tuple[float, dict[str, Any]]] = {}


class OidcNotConfigured(AppError):
    code, status, message = "OIDC_NOT_CONFIGURED", 503, "OIDC login is not configured (OIDC_ISSUER)"


class OidcProviderError(AppError):
    code, status, message = "OIDC_PROVIDER_ERROR", 502, "the identity provider did not answer correctly"


class OidcStateInvalid(BadRequest):
    code, message = "OIDC_STATE_INVALID", "unknown, expired or already used login state"


class OidcCodeRejected(Unauthorized):
    code, message = "OIDC_CODE_REJECTED", "the identity provider refused the authorization code"


class IdTokenInvalid(Unauthorized):
    code, message = "ID_TOKEN_INVALID", "the ID token is not valid"


class SsoUserUnknown(Unauthorized):
    code, message = "SSO_USER_UNKNOWN", "no active user of this tenant matches the signed-in identity"


class TenantNotFound(NotFound):
    code, message = "TENANT_NOT_FOUND", "unknown tenant"


def b64url_decode(text: str) -> bytes:
    if not isinstance(text, str) or any(c not in _B64URL for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def pkce_challenge(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode()).digest())


# ---- ID token verification (pure) ---------------------------------------------------------
def _rsa_key(jwk: dict[str, Any]) -> rsa.RSAPublicKey:
    if jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig":
        raise IdTokenInvalid("the signing key is not an RSA signature key")
    try:
        n = int.from_bytes(b64url_decode(jwk["n"]), "big")
        e = int.from_bytes(b64url_decode(jwk["e"]), "big")
    except (KeyError, ValueError):
        raise IdTokenInvalid("the JWKS key is malformed") from None
    if n.bit_length() < 2048:
        raise IdTokenInvalid("the signing key is shorter than 2048 bits")
    return rsa.RSAPublicNumbers(e, n).public_key()


def parse_jws(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Split a compact JWS into (header, claims, signing input, signature); no verification."""
    if not isinstance(token, str) or len(token) > 16384:
        raise IdTokenInvalid("the ID token is missing or too long")
    parts = token.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:  # an empty signature fails later
        raise IdTokenInvalid("the ID token is not a signed compact JWS")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError):
        raise IdTokenInvalid("the ID token is not valid base64url JSON") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise IdTokenInvalid("the ID token header and claims must be JSON objects")
    return header, claims, f"{parts[0]}.{parts[1]}".encode(), signature


def verify_id_token(token: str, jwks: dict[str, Any], *, issuer: str, client_id: str, nonce: str,
                    now: float | None = None) -> dict[str, Any]:
    header, claims, signing_input, signature = parse_jws(token)
    alg = header.get("alg")
    if alg not in ALLOWED_ALGS:
        raise IdTokenInvalid(f"ID token algorithm {alg!r} is not allowed")
    if "crit" in header:
        raise IdTokenInvalid("ID token critical header extensions are not supported")
    keys = [k for k in jwks.get("keys", []) if isinstance(k, dict)]
    kid = header.get("kid")
    candidates = [k for k in keys if k.get("kid") == kid] if kid else keys
    candidates = [k for k in candidates if k.get("alg") in (None, alg)]
    if not candidates:
        raise IdTokenInvalid("no key of the provider's JWKS matches the ID token")
    for jwk in candidates:
        try:
            _rsa_key(jwk).verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
            break
        except InvalidSignature:
            continue
    else:
        raise IdTokenInvalid("the ID token signature does not verify")
    now = time.time() if now is None else now
    if claims.get("iss") != issuer:
        raise IdTokenInvalid("the ID token issuer is not the configured provider")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        raise IdTokenInvalid("the ID token is not meant for this client (aud)")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise IdTokenInvalid("the ID token has several audiences but azp is not this client")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool) or exp <= now - LEEWAY_SECONDS:
        raise IdTokenInvalid("the ID token has expired")
    if isinstance(iat, (int, float)) and iat > now + LEEWAY_SECONDS:
        raise IdTokenInvalid("the ID token was issued in the future")
    if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(
            claims["nonce"].encode(), nonce.encode()):
        raise IdTokenInvalid("the ID token nonce does not match this login")
    return claims


# ---- the provider -------------------------------------------------------------------------
def _config(settings) -> tuple[str, str, str]:
    if not (settings.oidc_issuer and settings.oidc_client_id):
        raise OidcNotConfigured()
    redirect = settings.oidc_redirect_url or f"{settings.base_url}/sso/oidc/callback"
    return settings.oidc_issuer.rstrip("/"), settings.oidc_client_id, redirect


async def _get_json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    try:
        response = await client.get(url)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError):
        raise OidcProviderError(f"cannot read {url}") from None
    if not isinstance(data, dict):
        raise OidcProviderError(f"{url} is not a JSON object")
    return data


async def provider_metadata(client: httpx.AsyncClient, issuer: str) -> dict[str, Any]:
    cached = _metadata.get(issuer)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    data = await _get_json(client, f"{issuer}/.well-known/openid-configuration")
    if data.get("issuer", "").rstrip("/") != issuer:
        raise OidcProviderError("the discovery document names another issuer")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(data.get(key), str):
            raise OidcProviderError(f"the discovery document lacks {key}")
    _metadata[issuer] = (time.monotonic() + METADATA_TTL_SECONDS, data)
    return data


async def provider_jwks(client: httpx.AsyncClient, uri: str, refresh: bool = False) -> dict:
    """The provider's keys, cached; ``refresh`` (an unknown ``kid``: key rotation) refetches at
    most once per ``JWKS_REFRESH_SECONDS``, so forged kids cannot hammer the provider."""
    cached = _jwks.get(uri)
    now = time.monotonic()
    recent = cached is not None and now - (cached[0] - METADATA_TTL_SECONDS) < JWKS_REFRESH_SECONDS
    if cached and cached[0] > now and (not refresh or recent):
        return cached[1]
    data = await _get_json(client, uri)
    _jwks[uri] = (time.monotonic() + METADATA_TTL_SECONDS, data)
    return data


async def start(runtime, tenant_id: str, return_to: str = "") -> str:
    """Store the login state and return the provider's authorization URL."""
    issuer, client_id, redirect = _config(runtime.settings)
    if return_to and (not return_to.startswith("/") or return_to.startswith("//")
                      or "\\" in return_to or len(return_to) > 500):
        raise BadRequest("return_to must be a path of this site", code="RETURN_TO_INVALID")
    tenant = await Tenant.get_or_none(id=parse_uuid(tenant_id, TenantNotFound))
    if tenant is None or not tenant.is_active:
        raise TenantNotFound()
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)  # 64 characters, within RFC 7636's 43..128
    await runtime.cache.set(f"oidc:state:{state}", json.dumps(
        {"tenant": str(tenant.id), "nonce": nonce, "verifier": verifier,
         "return_to": return_to}).encode(), ttl=STATE_TTL_SECONDS)
    async with httpx.AsyncClient(timeout=10) as client:
        meta = await provider_metadata(client, issuer)
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect,
        "scope": "openid profile", "state": state, "nonce": nonce,
        "code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256"})
    endpoint = meta["authorization_endpoint"]
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


async def _consume_state(runtime, state: str) -> dict[str, Any]:
    if not state or len(state) > 100:
        raise OidcStateInvalid()
    raw = await runtime.cache.get(f"oidc:state:{state}")
    if raw is None or not await runtime.cache.add(f"oidc:used:{state}", b"1",
                                                  ttl=STATE_TTL_SECONDS):
        raise OidcStateInvalid()
    await runtime.cache.delete(f"oidc:state:{state}")
    return json.loads(raw)


async def finish(runtime, code: str, state: str,
                 ip: str = "") -> tuple[admin_sessions.OpenedSession, str]:
    """The session, and the console path the login started from (``return_to``)."""
    settings = runtime.settings
    issuer, client_id, redirect = _config(settings)
    login = await _consume_state(runtime, state)
    if not code or len(code) > 2048:
        raise OidcCodeRejected("the authorization code is missing")
    async with httpx.AsyncClient(timeout=10) as client:
        meta = await provider_metadata(client, issuer)
        try:
            response = await client.post(meta["token_endpoint"], data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
                "client_id": client_id, "client_secret": settings.oidc_client_secret,
                "code_verifier": login["verifier"]}, headers={"Accept": "application/json"})
        except httpx.HTTPError:
            raise OidcProviderError("the token endpoint cannot be reached") from None
        if response.status_code in (400, 401):
            await _refused(login["tenant"], "code_rejected")
            raise OidcCodeRejected()
        try:
            response.raise_for_status()
            id_token = response.json()["id_token"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            raise OidcProviderError("the token endpoint returned no ID token") from None
        jwks = await provider_jwks(client, meta["jwks_uri"])
        try:
            header = parse_jws(id_token)[0]
        except IdTokenInvalid as exc:
            await _refused(login["tenant"], exc.message)
            raise
        if header.get("kid") and not any(k.get("kid") == header["kid"]
                                         for k in jwks.get("keys", []) if isinstance(k, dict)):
            jwks = await provider_jwks(client, meta["jwks_uri"], refresh=True)
    try:
        claims = verify_id_token(id_token, jwks, issuer=issuer, client_id=client_id,
                                 nonce=login["nonce"])
    except IdTokenInvalid as exc:
        await _refused(login["tenant"], exc.message)
        raise
    subject = claims.get(settings.oidc_user_claim)
    user = await User.get_or_none(tenant_id=login["tenant"], push_id=str(subject)) \
        if isinstance(subject, (str, int)) and subject != "" else None
    if user is None or user.status != "active":
        await _refused(login["tenant"], "unknown or disabled user")
        raise SsoUserUnknown()
    opened = await admin_sessions.open_session(user, "oidc", settings.session_ttl_seconds, ip)
    return opened, login.get("return_to", "")


async def _refused(tenant_id: str, reason: str) -> None:
    await audit.record("session.open", "", result="refused", tenant_id=tenant_id,
                       details={"via": "oidc", "reason": reason[:200]})
