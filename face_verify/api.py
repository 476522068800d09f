"""The identity-verification contract [实名核验接口]: provider ABCs, result records, errors, retries.

The signing flow talks only to these interfaces; which provider answers (Aliyun market, Tencent
FaceID, the insurer's own system, or the local demo provider) is a configuration choice
(``face_verify.config``). No web framework is imported here.

Outcomes are three-valued on purpose. A *definite* answer from the authoritative source is
``match`` or ``mismatch``; ``unknown`` means the source has no record (e.g. 查无记录: soldiers,
recently migrated households). Neither is an error, so neither is retried. Errors are for the
cases where no answer was obtained: ``ProviderTimeout``, ``ProviderThrottled`` and 5xx-like
``ProviderError(retryable=True)`` are retried with exponential backoff; ``ProviderRejected``
(bad credentials, exhausted quota, a parameter the provider refuses) is not, because a retry
would get the same refusal.

Every result carries ``provider``, ``provider_request_id``, ``raw_code``, ``message`` and
``checked_at`` so the flow can record exactly what was asked and answered in the audit chain.
"""
from __future__ import annotations

import abc
import asyncio
import dataclasses
import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import httpx

from backend.errors import AppError, ValidationFailed

log = logging.getLogger("face_verify")

Outcome = Literal["match", "mismatch", "unknown"]
OUTCOMES: tuple[str, ...] = ("match", "mismatch", "unknown")
LivenessMode = Literal["action", "silent"]
LIVENESS_MODES: tuple[str, ...] = ("action", "silent")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# --------------------------------------------------------------------------------------------
# Errors (stable codes)
# --------------------------------------------------------------------------------------------


class ProviderError(AppError):
    """No answer was obtained from the identity provider. ``retryable`` says whether trying the
    same request again may succeed (timeouts, 5xx, throttling) or not (refusals)."""

    code, status, message = "IDENTITY_PROVIDER_ERROR", 502, "the identity provider failed"
    default_retryable = True

    def __init__(self, message: str | None = None, *, provider: str = "", raw_code: str = "",
                 retryable: bool | None = None, provider_request_id: str = "") -> None:
        super().__init__(message, details={"provider": provider, "raw_code": raw_code})
        self.provider = provider
        self.raw_code = raw_code
        self.provider_request_id = provider_request_id
        self.retryable = self.default_retryable if retryable is None else retryable


class ProviderTimeout(ProviderError):
    code, status, message = "IDENTITY_PROVIDER_TIMEOUT", 504, "the identity provider did not answer in time"


class ProviderThrottled(ProviderError):
    code, status, message = "IDENTITY_PROVIDER_THROTTLED", 503, "the identity provider is rate-limiting us"


class ProviderRejected(ProviderError):
    """The provider refused the request itself (credentials, quota, parameters): never retried."""

    code, status, message = "IDENTITY_PROVIDER_REJECTED", 502, "the identity provider refused the request"
    default_retryable = False


class OperationUnsupported(ProviderError):
    code, status, message = "IDENTITY_OPERATION_UNSUPPORTED", 501, "this provider does not support the operation"
    default_retryable = False


class FaceInputInvalid(ValidationFailed):
    code, message = "FACE_INPUT_INVALID", "the face verification input is incomplete or unusable"


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class IdentityResult:
    """A definite answer of an identity check, recorded as-is for the audit trail."""

    outcome: str                 # "match" | "mismatch" | "unknown"
    provider: str
    provider_request_id: str
    raw_code: str                # the provider's own result code, verbatim
    message: str                 # the provider's own description
    checked_at: dt.datetime
    check: str = ""              # "two_factor" | "three_factor" | "enterprise" | "micro_payment"

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, not {self.outcome!r}")

    @property
    def passed(self) -> bool:
        return self.outcome == "match"

    def to_record(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["checked_at"] = self.checked_at.isoformat()
        return data


@dataclasses.dataclass(frozen=True)
class MicroPaymentChallenge:
    """A random small transfer sent to an enterprise's account; the payer reports the amount."""

    challenge_id: str
    provider: str
    provider_request_id: str
    account_name: str
    bank_account_masked: str     # e.g. "6222****1234": the full number is not kept in results
    expires_at: dt.datetime
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class LivenessSession:
    """A face-verification session the mobile page opens (``url``) or the SDK uses (``token``)."""

    session_id: str
    mode: str                    # "action" | "silent"
    url: str
    token: str
    provider: str
    provider_request_id: str
    expires_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class FaceThresholds:
    """Scores are normalised to 0..1 whatever the provider's scale (Tencent's Sim is 0..100)."""

    liveness: float = 0.8
    similarity: float = 0.8

    def __post_init__(self) -> None:
        for name in ("liveness", "similarity"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"face {name} threshold must be within 0..1, not {value}")


@dataclasses.dataclass(frozen=True)
class FaceResult:
    """Scores and the verdict against *our* thresholds (recorded with the thresholds used)."""

    passed: bool
    liveness_score: float
    similarity: float
    liveness_threshold: float
    similarity_threshold: float
    provider: str
    provider_request_id: str
    raw_code: str
    message: str
    checked_at: dt.datetime
    mode: str = ""

    @classmethod
    def judge(cls, *, liveness_score: float, similarity: float, thresholds: FaceThresholds,
              **fields: Any) -> FaceResult:
        """Build a result whose ``passed`` is computed here, never taken from the provider."""
        passed = liveness_score >= thresholds.liveness and similarity >= thresholds.similarity
        return cls(passed=passed, liveness_score=round(liveness_score, 4),
                   similarity=round(similarity, 4), liveness_threshold=thresholds.liveness,
                   similarity_threshold=thresholds.similarity,
                   checked_at=fields.pop("checked_at", None) or utcnow(), **fields)

    def to_record(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["checked_at"] = self.checked_at.isoformat()
        return data


# --------------------------------------------------------------------------------------------
# Provider interfaces
# --------------------------------------------------------------------------------------------


class IdentityProvider(abc.ABC):
    """Person checks against the authoritative sources (公安 for two-factor, carriers for three)."""

    name: str = "identity"

    @abc.abstractmethod
    async def verify_two_factor(self, name: str, id_number: str) -> IdentityResult:
        """Name + resident ID number."""

    @abc.abstractmethod
    async def verify_three_factor(self, name: str, id_number: str, mobile: str) -> IdentityResult:
        """Name + ID number + mobile, checked against the carrier's real-name records."""

    async def aclose(self) -> None:
        """Release connections; a no-op for providers without any."""


class EnterpriseProvider(abc.ABC):
    """Enterprise checks: registry three-factor and, optionally, a bank micro-payment."""

    name: str = "enterprise"

    @abc.abstractmethod
    async def verify_enterprise(self, company_name: str, uscc: str,
                                legal_rep_name: str) -> IdentityResult:
        """Company name + unified social credit code + legal representative."""

    async def start_micro_payment(self, account_name: str, bank_account: str,
                                  bank_code: str) -> MicroPaymentChallenge:
        """Send a random amount (cents) to the company's account; optional capability."""
        raise OperationUnsupported(provider=self.name, raw_code="micro_payment")

    async def check_micro_payment(self, challenge_id: str, amount_cents: int) -> IdentityResult:
        """Compare the amount the company reports with the one sent."""
        raise OperationUnsupported(provider=self.name, raw_code="micro_payment")

    async def aclose(self) -> None:
        """Release connections."""


class FaceVerifier(abc.ABC):
    """Liveness (action or silent) + comparison with the ID photo, judged by ``thresholds``."""

    name: str = "face"
    thresholds: FaceThresholds = FaceThresholds()

    @abc.abstractmethod
    async def create_liveness_session(self, mode: str, *, name: str, id_number: str,
                                      redirect_url: str = "", reference: str = "") -> LivenessSession:
        """Start a hosted liveness session the signer's phone opens; compared with the
        authoritative photo of ``name`` + ``id_number``. ``reference`` is echoed back (our id)."""

    @abc.abstractmethod
    async def verify(self, capture: LivenessSession | str | bytes, *, id_photo: bytes | None = None,
                     name: str = "", id_number: str = "", mode: str = "silent",
                     validate_data: str = "") -> FaceResult:
        """Judge a capture: a finished session (object or id), or uploaded video/image bytes
        compared with ``id_photo`` or with the authoritative photo of ``name`` + ``id_number``."""

    async def aclose(self) -> None:
        """Release connections."""


def check_mode(mode: str) -> str:
    if mode not in LIVENESS_MODES:
        raise FaceInputInvalid(f"liveness mode must be one of {LIVENESS_MODES}",
                               details=[{"field": "mode", "error": "invalid"}])
    return mode


# --------------------------------------------------------------------------------------------
# Helpers shared by the HTTP adapters: timeouts, error mapping, retries with backoff
# --------------------------------------------------------------------------------------------

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: base, base*factor, ... capped at max_delay, +/- jitter fraction."""

    attempts: int = 3
    base_delay: float = 0.2
    factor: float = 2.0
    max_delay: float = 2.0
    jitter: float = 0.1

    def delay(self, attempt: int) -> float:
        """Delay after failed attempt number ``attempt`` (1-based)."""
        raw = min(self.max_delay, self.base_delay * self.factor ** (attempt - 1))
        return raw * (1 + random.uniform(-self.jitter, self.jitter))


async def with_retries(op: Callable[[], Awaitable[T]], policy: RetryPolicy, what: str) -> T:
    """Run ``op``; retry it only on retryable ``ProviderError``s. A definite answer (any
    returned value) and a refusal are never retried, so a paid check is never repeated."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return await op()
        except ProviderError as exc:
            if not exc.retryable or attempt >= policy.attempts:
                raise
            pause = policy.delay(attempt)
            log.warning("%s failed (%s %s), retry %d/%d in %.2fs", what, exc.code, exc.raw_code,
                        attempt, policy.attempts - 1, pause)
            await asyncio.sleep(pause)
    raise AssertionError("unreachable")


async def send(client: httpx.AsyncClient, request: httpx.Request, provider: str) -> httpx.Response:
    """Send one request, turning transport failures into ``ProviderError``s."""
    try:
        return await client.send(request)
    except httpx.TimeoutException as exc:
        raise ProviderTimeout(f"{provider} did not answer in time", provider=provider,
                              raw_code=type(exc).__name__) from None
    except httpx.TransportError as exc:
        raise ProviderError(f"{provider} unreachable: {type(exc).__name__}", provider=provider,
                            raw_code=type(exc).__name__, retryable=True) from None


def json_body(response: httpx.Response, provider: str) -> dict[str, Any]:
    """The response's JSON object; a garbled body is a (retryable) provider failure."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ProviderError(f"{provider} answered with a body that is not a JSON object",
                            provider=provider, raw_code=f"http_{response.status_code}")
    return body


def mask_account(number: str) -> str:
    digits = number.replace(" ", "")
    return digits[:4] + "****" + digits[-4:] if len(digits) > 8 else "****"
