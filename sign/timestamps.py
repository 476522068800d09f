"""RFC 3161 time-stamp client (HTTP via httpx, or in-process) and token verification.

>>> stamper = TimeStamper("http://tsa.example/tsr")
>>> token = stamper.timestamp(hashlib.sha256(data).digest(), "sha256")   # cms.ContentInfo
>>> info = verify_token(token, digest=..., hash_alg="sha256")           # tsp.TSTInfo
"""
from __future__ import annotations

import abc
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterable

import httpx
from asn1crypto import algos, cms, core, tsp, x509

from sign.certs import oids  # noqa: F401  (registers sm3 / sm2 OIDs)
from sign.certs.errors import CertificateError
from sign.certs.keys import verify_signature
from sign.certs.validate import TrustStore, ValidationResult, validate_chain

if TYPE_CHECKING:  # pragma: no cover
    from sign.tsa import TimeStampAuthority

QUERY_CONTENT_TYPE = "application/timestamp-query"
REPLY_CONTENT_TYPE = "application/timestamp-reply"
DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64, "sm3": 32}


class TimeStampResponse(core.Sequence):
    """RFC 3161 TimeStampResp; asn1crypto's ``tsp.TimeStampResp`` wrongly makes the token mandatory."""

    _fields = [("status", tsp.PKIStatusInfo), ("time_stamp_token", cms.ContentInfo, {"optional": True})]


class TimestampError(Exception):
    """A time stamp could not be obtained, or the reply/token is not acceptable."""


def hash_data(hash_alg: str, data: bytes) -> bytes:
    """Digest ``data`` with ``sha256``, ``sha384``, ``sha512`` or ``sm3``."""
    if hash_alg == "sm3":
        from sign.crypto.sm3 import sm3_digest

        return sm3_digest(data)
    if hash_alg not in DIGEST_SIZES:
        raise TimestampError(f"unsupported hash algorithm {hash_alg!r}")
    return hashlib.new(hash_alg, data).digest()


def _check_digest(digest: bytes, hash_alg: str) -> None:
    if hash_alg not in DIGEST_SIZES:
        raise TimestampError(f"unsupported hash algorithm {hash_alg!r}")
    if len(digest) != DIGEST_SIZES[hash_alg]:
        raise TimestampError(f"{hash_alg} digest must be {DIGEST_SIZES[hash_alg]} bytes, got {len(digest)}")


def build_request(digest: bytes, hash_alg: str = "sha256", *, nonce: int | None = None,
                  cert_req: bool = True, policy_oid: str | None = None) -> tsp.TimeStampReq:
    """A TimeStampReq for ``digest``; a random 64-bit nonce unless given."""
    _check_digest(digest, hash_alg)
    req: dict[str, object] = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": hash_alg}, "hashed_message": digest},
        "nonce": secrets.randbits(63) | 1 if nonce is None else nonce,
        "cert_req": cert_req,
    }
    if policy_oid:
        req["req_policy"] = policy_oid
    return tsp.TimeStampReq(req)


def parse_response(response_der: bytes, request: tsp.TimeStampReq) -> cms.ContentInfo:
    """Check a TimeStampResp against ``request`` (status, nonce, imprint, policy); return the token."""
    try:
        resp = TimeStampResponse.load(response_der, strict=True)
        status = resp["status"]["status"].native
    except Exception as exc:
        raise TimestampError(f"malformed time-stamp response: {exc}") from exc
    if status not in ("granted", "granted_with_mods"):
        text = resp["status"]["status_string"].native
        fail = resp["status"]["fail_info"].native
        raise TimestampError(f"time stamp refused: {status} {sorted(fail or [])} {text or ''}".strip())
    token = resp["time_stamp_token"]
    if not token.native:
        raise TimestampError("time-stamp response granted but carries no token")
    info = tst_info(token)
    _match_request(info, request)
    return token


def tst_info(token: cms.ContentInfo) -> tsp.TSTInfo:
    """The TSTInfo inside a time-stamp token."""
    try:
        if token["content_type"].native != "signed_data":
            raise TimestampError("time-stamp token is not SignedData")
        encap = token["content"]["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise TimestampError("time-stamp token does not contain TSTInfo")
        info = encap["content"].parsed
        info.native
        return info
    except TimestampError:
        raise
    except Exception as exc:
        raise TimestampError(f"malformed time-stamp token: {exc}") from exc


def _match_request(info: tsp.TSTInfo, request: tsp.TimeStampReq) -> None:
    if info["nonce"].native != request["nonce"].native:
        raise TimestampError("nonce in the reply does not match the request")
    want, got = request["message_imprint"], info["message_imprint"]
    if (got["hash_algorithm"]["algorithm"].dotted != want["hash_algorithm"]["algorithm"].dotted
            or got["hashed_message"].native != want["hashed_message"].native):
        raise TimestampError("message imprint in the reply does not match the request")
    policy = request["req_policy"].dotted if request["req_policy"].native else None
    if policy and info["policy"].dotted != policy:
        raise TimestampError("policy in the reply does not match the requested policy")


# ---- token verification ------------------------------------------------------------------------
def signer_certificate(token: cms.ContentInfo, extra_certs: Iterable[x509.Certificate] = ()) -> x509.Certificate:
    """The certificate of the token's (single) signer, from the token or ``extra_certs``."""
    sd = token["content"]
    sid = sd["signer_infos"][0]["sid"]
    certs = [c.chosen for c in sd["certificates"] if c.name == "certificate"] if sd["certificates"] else []
    for cert in [*certs, *extra_certs]:
        if sid.name == "issuer_and_serial_number":
            ias = sid.chosen
            if cert.issuer == ias["issuer"] and cert.serial_number == ias["serial_number"].native:
                return cert
        elif cert.key_identifier == sid.chosen.native:
            return cert
    raise TimestampError("signer certificate not found in the token")


def _cms_signature_algorithm(signer_info: cms.SignerInfo) -> algos.SignedDigestAlgorithm:
    algo = signer_info["signature_algorithm"]
    name = algo["algorithm"].native
    digest = signer_info["digest_algorithm"]["algorithm"].native
    if name in ("rsassa_pkcs1v15", "rsa") and digest in DIGEST_SIZES and digest != "sm3":
        return algos.SignedDigestAlgorithm({"algorithm": f"{digest}_rsa"})
    if name == "ecdsa" and digest in ("sha256", "sha384", "sha512"):
        return algos.SignedDigestAlgorithm({"algorithm": f"{digest}_ecdsa"})
    return algo


def verify_token(token: cms.ContentInfo, *, digest: bytes | None = None, hash_alg: str | None = None,
                 extra_certs: Iterable[x509.Certificate] = (), require_tsa_eku: bool = True) -> tsp.TSTInfo:
    """Verify the token's CMS signature (RSA, ECDSA or SM2) and optionally its imprint.

    Checks content-type and message-digest attributes, the ESS signing-certificate(-v2) hash and
    (``require_tsa_eku``) the timeStamping EKU. It does not validate the signer's chain: use
    :func:`sign.certs.validate.validate_chain` with ``purpose="timestamping"`` for that.
    """
    info = tst_info(token)
    sd = token["content"]
    if len(sd["signer_infos"]) != 1:
        raise TimestampError("time-stamp token must have exactly one signer")
    si = sd["signer_infos"][0]
    cert = signer_certificate(token, extra_certs)
    _verify_signed_attrs(si, sd["encap_content_info"]["content"].contents, cert)
    if require_tsa_eku:
        eku = cert.extended_key_usage_value
        if eku is None or "time_stamping" not in eku.native:
            raise TimestampError("signer certificate lacks the timeStamping extended key usage")
    if digest is not None:
        imprint = info["message_imprint"]
        if hash_alg and imprint["hash_algorithm"]["algorithm"].native != hash_alg:
            raise TimestampError("token imprint uses a different hash algorithm")
        if imprint["hashed_message"].native != digest:
            raise TimestampError("token imprint does not match the digest")
    return info


@dataclass(frozen=True)
class TimestampValidation:
    """A verified token (``info``) and the validation of its TSA certificate path at ``gen_time``."""

    info: tsp.TSTInfo
    gen_time: datetime
    chain: ValidationResult

    @property
    def ok(self) -> bool:
        return self.chain.ok


def validate_timestamp(token: cms.ContentInfo, *, trust: TrustStore | Iterable[x509.Certificate],
                       digest: bytes | None = None, hash_alg: str | None = None,
                       intermediates: Iterable[x509.Certificate] = (), crls: Iterable = (),
                       at: datetime | None = None) -> TimestampValidation:
    """:func:`verify_token` plus TSA path validation (``purpose="timestamping"``) at ``at``.

    ``at`` defaults to the token's genTime. Raises :class:`TimestampError` when the token itself
    is bad; path problems are reported in ``result.chain.errors``.
    """
    intermediates = list(intermediates)
    info = verify_token(token, digest=digest, hash_alg=hash_alg, extra_certs=intermediates)
    cert = signer_certificate(token, intermediates)
    sd = token["content"]
    embedded = [c.chosen for c in sd["certificates"] if c.name == "certificate"] if sd["certificates"] else []
    gen_time = info["gen_time"].native
    chain = validate_chain(cert, [*embedded, *intermediates], trust=trust, at=at or gen_time, crls=crls,
                           purpose="timestamping")
    return TimestampValidation(info, gen_time, chain)


def _attr(attrs: cms.CMSAttributes, name: str) -> object:
    for attr in attrs:
        if attr["type"].native == name:
            return attr["values"][0]
    return None


def _verify_signed_attrs(si: cms.SignerInfo, content: bytes, cert: x509.Certificate) -> None:
    attrs = si["signed_attrs"]
    if not attrs:
        raise TimestampError("time-stamp token has no signed attributes")
    digest_alg = si["digest_algorithm"]["algorithm"].native
    content_type = _attr(attrs, "content_type")
    if content_type is None or content_type.native != "tst_info":
        raise TimestampError("content-type attribute is not id-ct-TSTInfo")
    md = _attr(attrs, "message_digest")
    if md is None or md.native != hash_data(digest_alg, content):
        raise TimestampError("message-digest attribute does not match TSTInfo")
    _check_ess(attrs, cert)
    try:
        ok = verify_signature(cert.public_key, _cms_signature_algorithm(si), si["signature"].native,
                              attrs.untag().dump())
    except CertificateError as exc:
        raise TimestampError(f"cannot verify token signature: {exc}") from exc
    if not ok:
        raise TimestampError("time-stamp token signature does not verify")


def _check_ess(attrs: cms.CMSAttributes, cert: x509.Certificate) -> None:
    v2 = _attr(attrs, "signing_certificate_v2")
    if v2 is not None:
        cert_id = v2["certs"][0]
        alg = cert_id["hash_algorithm"]["algorithm"].native
        if cert_id["cert_hash"].native != hash_data(alg, cert.dump()):
            raise TimestampError("ESS signing-certificate-v2 does not match the signer certificate")
        return
    v1 = _attr(attrs, "signing_certificate")
    if v1 is not None and v1["certs"][0]["cert_hash"].native != hashlib.sha1(cert.dump()).digest():
        raise TimestampError("ESS signing-certificate does not match the signer certificate")


# ---- clients -----------------------------------------------------------------------------------
class BaseTimeStamper(abc.ABC):
    """Common interface: ``timestamp(digest, hash_alg) -> token`` (asn1crypto ``cms.ContentInfo``)."""

    def __init__(self, *, policy_oid: str | None = None, cert_req: bool = True) -> None:
        self.policy_oid = policy_oid
        self.cert_req = cert_req

    def timestamp(self, message_imprint_digest: bytes, hash_alg: str = "sha256") -> cms.ContentInfo:
        request = build_request(message_imprint_digest, hash_alg, cert_req=self.cert_req,
                                policy_oid=self.policy_oid)
        return parse_response(self._exchange(request.dump()), request)

    def timestamp_data(self, data: bytes, hash_alg: str = "sha256") -> cms.ContentInfo:
        return self.timestamp(hash_data(hash_alg, data), hash_alg)

    @abc.abstractmethod
    def _exchange(self, request_der: bytes) -> bytes:
        """Send a DER TimeStampReq, return the DER TimeStampResp."""


class TimeStamper(BaseTimeStamper):
    """RFC 3161 over HTTP POST (``application/timestamp-query``)."""

    def __init__(self, url: str, *, timeout: float = 10.0, policy_oid: str | None = None,
                 cert_req: bool = True, headers: dict[str, str] | None = None,
                 client: httpx.Client | None = None) -> None:
        super().__init__(policy_oid=policy_oid, cert_req=cert_req)
        self.url = url
        self.timeout = timeout
        self.headers = dict(headers or {})
        self._client = client

    def _exchange(self, request_der: bytes) -> bytes:
        headers = {"Content-Type": QUERY_CONTENT_TYPE, "Accept": REPLY_CONTENT_TYPE, **self.headers}
        try:
            if self._client is not None:
                resp = self._client.post(self.url, content=request_der, headers=headers, timeout=self.timeout)
            else:
                resp = httpx.post(self.url, content=request_der, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            raise TimestampError(f"time-stamp request to {self.url} timed out after {self.timeout}s") from exc
        except httpx.HTTPError as exc:
            raise TimestampError(f"time-stamp request to {self.url} failed: {exc}") from exc
        if resp.status_code != 200:
            raise TimestampError(f"TSA {self.url} answered HTTP {resp.status_code}")
        ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != REPLY_CONTENT_TYPE:
            raise TimestampError(f"TSA {self.url} answered content type {ctype or 'none'!r}")
        return resp.content


class InProcessTimeStamper(BaseTimeStamper):
    """The same interface over a :class:`sign.tsa.TimeStampAuthority` in this process."""

    def __init__(self, tsa: "TimeStampAuthority", *, policy_oid: str | None = None, cert_req: bool = True) -> None:
        super().__init__(policy_oid=policy_oid, cert_req=cert_req)
        self.tsa = tsa

    def _exchange(self, request_der: bytes) -> bytes:
        return self.tsa.respond(request_der)
