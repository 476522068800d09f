"""Trust anchors and basic chain checks (used when sign.certs.validate is not available)."""
from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import pathlib
import weakref
from typing import Any, Iterable

from asn1crypto import pem, x509

from . import crypto
from .report import Problem, TrustResult

MAX_PATH = 8


@dataclasses.dataclass(frozen=True)
class TrustAnchors:
    """Parsed trust anchors, keyed for fast lookup. Built once per distinct input (cached)."""

    certs: tuple[x509.Certificate, ...]
    by_subject: dict[bytes, tuple[x509.Certificate, ...]]
    fingerprints: frozenset[bytes]
    store: Any = None  # a sign.certs TrustStore, when one was given
    cache: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False, hash=False)


_ANCHOR_CACHE: dict[Any, TrustAnchors] = {}
_STORE_CACHE: "weakref.WeakKeyDictionary[Any, tuple[int, TrustAnchors]]" = weakref.WeakKeyDictionary()
_CERT_SIG_CACHE: dict[tuple[bytes, bytes], bool] = {}


def fingerprint(cert: x509.Certificate) -> bytes:
    return hashlib.sha256(cert.dump()).digest()


def load_certificates(data: bytes | str | pathlib.Path) -> list[x509.Certificate]:
    """Certificates from PEM (one or several) or DER bytes, or from a file path."""
    if isinstance(data, (str, pathlib.Path)):
        data = pathlib.Path(data).read_bytes()
    if pem.detect(data):
        return [x509.Certificate.load(der) for _, _, der in pem.unarmor(data, multiple=True)]
    return [x509.Certificate.load(data)]


def _to_asn1(item: Any) -> list[x509.Certificate]:
    if isinstance(item, x509.Certificate):
        return [item]
    if hasattr(item, "public_bytes") and hasattr(item, "fingerprint"):  # cryptography cert
        from cryptography.hazmat.primitives.serialization import Encoding
        return [x509.Certificate.load(item.public_bytes(Encoding.DER))]
    if isinstance(item, (bytes, bytearray, memoryview, str, pathlib.Path)):
        return load_certificates(bytes(item) if not isinstance(item, (str, pathlib.Path)) else item)
    if hasattr(item, "cert"):  # identity-like objects (.cert)
        return _to_asn1(item.cert)
    raise TypeError(f"cannot use {type(item).__name__} as a trust anchor")


def anchors_from(trust: Any) -> TrustAnchors | None:
    """Normalise the ``trust`` argument of verify(); cached by identity/content."""
    if trust is None:
        return None
    if _is_trust_store(trust):
        size = len(trust) if hasattr(trust, "__len__") else -1
        hit = _STORE_CACHE.get(trust)
        if hit is None or hit[0] != size:  # a store that grew is re-read
            hit = _STORE_CACHE[trust] = (size, _build(_store_certs(trust), store=trust))
        return hit[1]
    items = [trust] if not isinstance(trust, (list, tuple, set, frozenset)) else list(trust)
    try:
        key = tuple(_quick_key(i) for i in items)
        cached = _ANCHOR_CACHE.get(key)
    except (TypeError, OSError):
        key, cached = None, None
    if cached is not None:
        return cached
    certs: list[x509.Certificate] = []
    for item in items:
        certs.extend(_to_asn1(item))
    anchors = _build(certs)
    if key is not None:
        if len(_ANCHOR_CACHE) > 256:
            _ANCHOR_CACHE.clear()
        _ANCHOR_CACHE[key] = anchors
    return anchors


def _quick_key(item: Any) -> Any:
    """A content key (never an id(): ids are reused after garbage collection)."""
    if isinstance(item, bytes):
        return item
    if isinstance(item, (str, pathlib.Path)):
        st = pathlib.Path(item).stat()
        return (str(item), st.st_mtime_ns, st.st_size)
    if isinstance(item, x509.Certificate):
        return _cert_key(item)
    raise TypeError("uncacheable")


_CERT_KEYS: dict[int, tuple[x509.Certificate, bytes]] = {}


def _cert_key(cert: x509.Certificate) -> bytes:
    """DER of ``cert``, memoised per object (constructed asn1crypto objects re-encode on dump()).

    The cache holds a strong reference to the object, so its id() cannot be reused meanwhile."""
    hit = _CERT_KEYS.get(id(cert))
    if hit is not None and hit[0] is cert:
        return hit[1]
    if len(_CERT_KEYS) > 1024:
        _CERT_KEYS.clear()
    der = cert.dump()
    _CERT_KEYS[id(cert)] = (cert, der)
    return der


def _is_trust_store(obj: Any) -> bool:
    return type(obj).__name__ == "TrustStore" or hasattr(obj, "anchor_for")


def _store_certs(store: Any) -> list[x509.Certificate]:
    for attr in ("anchors", "roots", "certs", "certificates"):
        value = getattr(store, attr, None)
        if value is None:
            continue
        value = value() if callable(value) else value
        if isinstance(value, dict):
            value = list(value.values())
        out: list[x509.Certificate] = []
        for item in value:
            out.extend(_to_asn1(item))
        return out
    return []


def _build(certs: Iterable[x509.Certificate], store: Any = None) -> TrustAnchors:
    certs = tuple(certs)
    by_subject: dict[bytes, list[x509.Certificate]] = {}
    for cert in certs:
        by_subject.setdefault(cert.subject.dump(), []).append(cert)
    return TrustAnchors(certs, {k: tuple(v) for k, v in by_subject.items()},
                        frozenset(fingerprint(c) for c in certs), store)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer.dump() != issuer.subject.dump():
        return False
    key = (fingerprint(cert), fingerprint(issuer))
    hit = _CERT_SIG_CACHE.get(key)
    if hit is None:
        if len(_CERT_SIG_CACHE) > 4096:
            _CERT_SIG_CACHE.clear()
        hit = _CERT_SIG_CACHE[key] = crypto.verify_certificate_signature(cert, issuer)
    return hit


def _validity_problems(cert: x509.Certificate, at: _dt.datetime) -> list[Problem]:
    validity = cert["tbs_certificate"]["validity"]
    nb, na = validity["not_before"].native, validity["not_after"].native
    name = cert.subject.human_friendly
    if at < nb:
        return [Problem("NOT_YET_VALID", f"certificate '{name}' is not valid before {nb.isoformat()}")]
    if at > na:
        return [Problem("EXPIRED", f"certificate '{name}' expired {na.isoformat()}")]
    return []


def basic_chain(signer: x509.Certificate, extra: Iterable[x509.Certificate],
                anchors: TrustAnchors, at: _dt.datetime) -> TrustResult:
    """Signer cert -> (intermediates from the signature) -> trust anchor; validity at ``at``."""
    path = [signer]
    pool = [c for c in extra if fingerprint(c) != fingerprint(signer)]
    current = signer
    anchored = False
    for _ in range(MAX_PATH):
        if fingerprint(current) in anchors.fingerprints:
            anchored = True
            break
        issuer = _find_issuer(current, anchors.by_subject.get(current.issuer.dump(), ()))
        if issuer is not None:
            path.append(issuer)
            anchored = True
            break
        issuer = _find_issuer(current, [c for c in pool if c not in path])
        if issuer is None:
            break
        path.append(issuer)
        current = issuer
    errors: list[Problem] = []
    if not anchored:
        errors.append(Problem("UNTRUSTED_ROOT",
                              f"no trusted certificate issued '{current.subject.human_friendly}'"))
    for cert in path:
        errors.extend(_validity_problems(cert, at))
    return TrustResult(True, not errors, at, tuple(c.subject.human_friendly for c in path),
                       tuple(errors), "not_checked", "basic")


def _basic(signer: x509.Certificate, extra: Iterable[x509.Certificate], anchors: TrustAnchors,
           at: _dt.datetime) -> tuple[TrustResult, list[x509.Certificate]]:
    result = basic_chain(signer, extra, anchors, at)
    pool = {c.subject.human_friendly: c for c in (*extra, *anchors.certs, signer)}
    return result, [pool[name] for name in result.path if name in pool]


def _find_issuer(cert: x509.Certificate,
                 candidates: Iterable[x509.Certificate]) -> x509.Certificate | None:
    for cand in candidates:
        if _issued_by(cert, cand):
            return cand
    return None


def evaluate(signer: x509.Certificate | None, extra: tuple[x509.Certificate, ...],
             anchors: TrustAnchors | None, at: _dt.datetime, crls: tuple[Any, ...] = (),
             purpose: str = "signing") -> TrustResult:
    """Chain/trust of ``signer`` at ``at``: sign.certs.validate when present, else basic checks."""
    if anchors is None:
        return TrustResult(False, False, at)
    if signer is None:
        return TrustResult(True, False, at, (), (Problem("CERT_MISSING", "no signer certificate"),))
    key = None if crls else (fingerprint(signer), tuple(fingerprint(c) for c in extra), purpose)
    cache: dict[Any, tuple[TrustResult, _dt.datetime, _dt.datetime]] = anchors.cache.setdefault(
        "results", {})
    hit = cache.get(key) if key is not None else None
    if hit is not None and hit[1] <= at <= hit[2]:
        return dataclasses.replace(hit[0], checked_at=at)
    delegated = _delegate(signer, extra, anchors, at, crls, purpose)
    result, path = delegated if delegated is not None else _basic(signer, extra, anchors, at)
    if key is not None and result.trusted:
        if len(cache) > 1024:
            cache.clear()
        cache[key] = (result, *_window(path or [signer]))
    return result


def _window(path: Iterable[x509.Certificate]) -> tuple[_dt.datetime, _dt.datetime]:
    """The period in which every certificate of ``path`` is valid (same result for any time in it)."""
    starts, ends = [], []
    for cert in path:
        validity = cert["tbs_certificate"]["validity"]
        starts.append(validity["not_before"].native)
        ends.append(validity["not_after"].native)
    return max(starts), min(ends)


def _delegate(signer: x509.Certificate, extra: tuple[x509.Certificate, ...], anchors: TrustAnchors,
              at: _dt.datetime, crls: tuple[Any, ...],
              purpose: str) -> tuple[TrustResult, list[x509.Certificate]] | None:
    """sign.certs.validate.validate_chain (full path checks + CRLs); None: use the basic checks."""
    try:
        from sign.certs import validate as v
    except ImportError:
        return None
    store = _store_for(v, anchors)
    try:
        result = v.validate_chain(signer, [c for c in extra if c != signer], trust=store, at=at,
                                  crls=list(crls), purpose=purpose)
    except Exception as exc:  # their failure must not hide ours: report it, untrusted
        return TrustResult(True, False, at, (), (Problem("VALIDATION_ERROR", str(exc)),), "unknown",
                           "sign.certs.validate"), []
    errors = tuple(Problem(e.code, f"{e.subject}: {e.message}" if e.subject else e.message)
                   for e in result.errors)
    codes = {p.code for p in errors}
    revocation = "revoked" if "REVOKED" in codes else _revocation_status(list(result.path), crls)
    return TrustResult(True, bool(result.ok), at, tuple(_subject(c) for c in result.path), errors,
                       revocation, "sign.certs.validate"), list(result.path)


def _revocation_status(path: list[x509.Certificate], crls: tuple[Any, ...]) -> str:
    """'good' when a verifying CRL from its issuer covers the signer, 'unknown' when CRLs were
    given but none applies, 'not_checked' without CRLs."""
    if not crls:
        return "not_checked"
    if len(path) < 2:
        return "good" if path else "unknown"  # a trust anchor itself needs no CRL
    try:
        from sign.certs.revocation import crl_applies
    except ImportError:
        return "unknown"
    try:
        return "good" if any(crl_applies(c, path[0], path[1]) for c in crls) else "unknown"
    except Exception:  # a malformed CRL: no verdict
        return "unknown"


def _store_for(v: Any, anchors: TrustAnchors) -> Any:
    if anchors.store is not None:
        return anchors.store
    if "store" not in anchors.cache:
        anchors.cache["store"] = v.TrustStore(list(anchors.certs))
    return anchors.cache["store"]


def _subject(cert: Any) -> str:
    if isinstance(cert, x509.Certificate):
        return cert.subject.human_friendly
    subject = getattr(cert, "subject", cert)
    return getattr(subject, "human_friendly", None) or getattr(subject, "rfc4514_string",
                                                               lambda: str(subject))()
