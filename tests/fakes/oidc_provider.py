"""A fake OpenID Connect provider (real HTTP on 127.0.0.1, in a thread) for the SSO tests.

Endpoints: ``/.well-known/openid-configuration``, ``/jwks`` (RSA 2048 keys), ``/authorize``
(signs in ``provider.next_subject`` at once and redirects to ``redirect_uri`` with a code) and
``/token`` (checks client id/secret, redirect URI and the PKCE S256 verifier, then issues an
RS256 ID token). ``provider.tamper`` makes the next ID tokens wrong in one way:
``wrong_nonce``, ``wrong_aud``, ``wrong_iss``, ``expired``, ``bad_signature``, ``alg_none``,
``alg_hs256`` (HMAC keyed with the public key: the classic confusion attack), ``unknown_kid``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.parse
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakes.notify_servers import Answer, FakeHttpServer, Recorded, _Handler


class _RedirectingHandler(_Handler):
    """Answers ``(302, {"__location__": url})`` with a real redirect."""

    def send_response(self, code: int, message: str | None = None) -> None:
        super().send_response(code, message)
        location = getattr(self.fake._local, "location", None)
        self.fake._local.location = None
        if code == 302 and location:
            self.send_header("Location", location)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class FakeOidcProvider(FakeHttpServer):
    def __init__(self, client_id: str = "esign-console", client_secret: str = "oidc-secret",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client_id, self.client_secret = client_id, client_secret
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "key-1"
        self.next_subject = "E0001"
        self.tamper = ""
        self.codes: dict[str, dict[str, str]] = {}
        self.redeemed: list[str] = []
        self._local = threading.local()  # the redirect of the request this thread serves
        self._httpd.RequestHandlerClass = type("Handler", (_RedirectingHandler,), {"fake": self})

    @property
    def issuer(self) -> str:
        return self.url

    def reset(self) -> None:
        self.tamper, self.next_subject = "", "E0001"
        self.codes.clear()
        self.requests.clear()

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                          "n": _int(numbers.n), "e": _int(numbers.e)}]}

    def handle(self, request: Recorded) -> Answer:
        if request.path == "/.well-known/openid-configuration":
            return 200, {"issuer": self.issuer, "authorization_endpoint": f"{self.url}/authorize",
                         "token_endpoint": f"{self.url}/token", "jwks_uri": f"{self.url}/jwks",
                         "response_types_supported": ["code"],
                         "id_token_signing_alg_values_supported": ["RS256"],
                         "code_challenge_methods_supported": ["S256"]}
        if request.path == "/jwks":
            return 200, self.jwks()
        if request.path == "/authorize":
            return self._authorize(request.query)
        if request.path == "/token" and request.method == "POST":
            return self._token(request.form())
        return 404, {"error": "not_found"}

    def _authorize(self, q: dict[str, str]) -> Answer:
        if q.get("client_id") != self.client_id or q.get("response_type") != "code" \
                or q.get("code_challenge_method") != "S256" or not q.get("code_challenge") \
                or not q.get("nonce") or not q.get("state") or "openid" not in q.get("scope", ""):
            return 400, {"error": "invalid_request"}
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"challenge": q["code_challenge"], "nonce": q["nonce"],
                            "redirect_uri": q["redirect_uri"], "sub": self.next_subject}
        location = f"{q['redirect_uri']}?" + urllib.parse.urlencode(
            {"code": code, "state": q["state"]})
        self._local.location = location
        return 302, {"location": location}

    def _token(self, form: dict[str, str]) -> Answer:
        if (form.get("client_id"), form.get("client_secret")) != (self.client_id,
                                                                  self.client_secret):
            return 401, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("grant_type") != "authorization_code" \
                or form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        if b64url(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        self.redeemed.append(grant["sub"])
        return 200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                     "expires_in": 300, "id_token": self.id_token(grant["sub"], grant["nonce"])}

    def id_token(self, sub: str, nonce: str) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": sub, "aud": self.client_id, "iat": now,
                  "exp": now + 300, "nonce": nonce, "name": "测试用户"}
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        tamper = self.tamper
        if tamper == "wrong_nonce":
            claims["nonce"] = "not-the-nonce"
        elif tamper == "wrong_aud":
            claims["aud"] = "another-client"
        elif tamper == "wrong_iss":
            claims["iss"] = "https://evil.example.com"
        elif tamper == "expired":
            claims["iat"], claims["exp"] = now - 900, now - 600
        elif tamper == "unknown_kid":
            header["kid"] = "key-unknown"
        elif tamper in ("alg_none", "alg_hs256"):
            header["alg"] = "none" if tamper == "alg_none" else "HS256"
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(claims).encode())).encode()
        if tamper == "alg_none":
            return signing_input.decode() + "."
        if tamper == "alg_hs256":
            pem = self.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)
            return signing_input.decode() + "." + b64url(
                hmac.new(pem, signing_input, hashlib.sha256).digest())
        signature = self.key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        if tamper == "bad_signature":
            signature = bytes([signature[0] ^ 1]) + signature[1:]
        return signing_input.decode() + "." + b64url(signature)
