"""DEMO providers: deterministic, offline, and loud about it. Never a real identity check.

Used when ``IDENTITY_PROVIDER`` / ``FACE_PROVIDER`` / ``ENTERPRISE_PROVIDER`` are ``local``
(the default outside production; ``face_verify.config`` refuses them when ``ENV=production``).
Every call logs a WARNING starting with ``DEMO`` and every result has ``provider="local_demo"``,
so a demo answer can never be mistaken for a real one in the audit trail.

Rules (inputs are validated with ``backend.validation`` first, like a real flow would):

- person: a name containing "不符" -> ``mismatch``; containing "无记录" -> ``unknown``;
  anything else valid -> ``match``.
- enterprise: a company or legal representative containing "不符" -> ``mismatch``; else valid
  -> ``match``. Micro-payment: the amount "sent" is derived from the challenge id and logged
  (``LocalEnterpriseProvider.demo_amount_cents``); the right amount -> ``match``.
- face: always passes with liveness 0.95 and similarity 0.95, unless the capture is blank
  (empty bytes, one repeated byte, or an image of a single colour) or names a session this
  provider never created -> 0.0 / 0.0. The verdict still uses the configured thresholds.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import secrets
import uuid

from backend.validation import validate_id_number, validate_mobile, validate_person_name, validate_uscc
from face_verify.api import (
    EnterpriseProvider, FaceResult, FaceThresholds, FaceVerifier, IdentityProvider, IdentityResult,
    LivenessSession, MicroPaymentChallenge, check_mode, mask_account, utcnow,
)

log = logging.getLogger("face_verify.demo")
PROVIDER = "local_demo"
DEMO_SCORE = 0.95


def _result(outcome: str, check: str, raw_code: str) -> IdentityResult:
    log.warning("DEMO identity provider answered %s to a %s check (no real verification)",
                outcome, check)
    return IdentityResult(outcome=outcome, provider=PROVIDER,
                          provider_request_id=f"demo-{uuid.uuid4().hex[:16]}", raw_code=raw_code,
                          message=f"DEMO: {outcome}", checked_at=utcnow(), check=check)


def _person_outcome(name: str) -> tuple[str, str]:
    if "不符" in name:
        return "mismatch", "demo_mismatch"
    if "无记录" in name:
        return "unknown", "demo_no_record"
    return "match", "demo_match"


class LocalIdentityProvider(IdentityProvider):
    name = PROVIDER

    async def verify_two_factor(self, name: str, id_number: str) -> IdentityResult:
        name = validate_person_name(name)
        validate_id_number(id_number)
        outcome, raw = _person_outcome(name)
        return _result(outcome, "two_factor", raw)

    async def verify_three_factor(self, name: str, id_number: str, mobile: str) -> IdentityResult:
        name = validate_person_name(name)
        validate_id_number(id_number)
        validate_mobile(mobile)
        outcome, raw = _person_outcome(name)
        return _result(outcome, "three_factor", raw)


class LocalEnterpriseProvider(EnterpriseProvider):
    name = PROVIDER

    def __init__(self) -> None:
        self._challenges: dict[str, int] = {}

    async def verify_enterprise(self, company_name: str, uscc: str,
                                legal_rep_name: str) -> IdentityResult:
        validate_uscc(uscc)
        validate_person_name(legal_rep_name)
        bad = "不符" in company_name or "不符" in legal_rep_name
        return _result("mismatch" if bad else "match", "enterprise",
                       "demo_mismatch" if bad else "demo_match")

    @staticmethod
    def demo_amount_cents(challenge_id: str) -> int:
        """1..99 cents, derived from the id so the demo user can be told the amount."""
        return 1 + int(hashlib.sha256(challenge_id.encode()).hexdigest(), 16) % 99

    async def start_micro_payment(self, account_name: str, bank_account: str,
                                  bank_code: str) -> MicroPaymentChallenge:
        challenge_id = f"demo-mp-{uuid.uuid4().hex[:16]}"
        amount = self.demo_amount_cents(challenge_id)
        self._challenges[challenge_id] = amount
        log.warning("DEMO micro-payment: pretending to send %d cents to %s (%s)", amount,
                    mask_account(bank_account), account_name)
        now = utcnow()
        return MicroPaymentChallenge(challenge_id=challenge_id, provider=PROVIDER,
                                     provider_request_id=challenge_id, account_name=account_name,
                                     bank_account_masked=mask_account(bank_account),
                                     expires_at=now + dt.timedelta(days=2), created_at=now)

    async def check_micro_payment(self, challenge_id: str, amount_cents: int) -> IdentityResult:
        expected = self._challenges.get(challenge_id)
        if expected is None:
            return _result("unknown", "micro_payment", "demo_unknown_challenge")
        right = int(amount_cents) == expected
        return _result("match" if right else "mismatch", "micro_payment",
                       "demo_amount_right" if right else "demo_amount_wrong")


def is_blank(capture: bytes) -> bool:
    """Empty, one repeated byte, or a decodable image of a single colour."""
    if not capture or capture.count(capture[:1]) == len(capture):
        return True
    try:
        from PIL import Image

        with Image.open(io.BytesIO(capture)) as image:
            extrema = image.convert("RGB").getextrema()
    except Exception:  # noqa: BLE001 - not an image (a video): only the byte checks apply
        return False
    return all(low == high for low, high in extrema)


class LocalFaceVerifier(FaceVerifier):
    name = PROVIDER

    def __init__(self, thresholds: FaceThresholds = FaceThresholds(),
                 page_url: str = "/demo/face") -> None:
        self.thresholds = thresholds
        self.page_url = page_url.rstrip("/")
        self._sessions: dict[str, str] = {}

    async def create_liveness_session(self, mode: str, *, name: str, id_number: str,
                                      redirect_url: str = "", reference: str = "") -> LivenessSession:
        check_mode(mode)
        validate_person_name(name)
        validate_id_number(id_number)
        token = secrets.token_urlsafe(16)
        self._sessions[token] = mode
        log.warning("DEMO face session %s (%s liveness): no real liveness check", token, mode)
        return LivenessSession(session_id=token, mode=mode, url=f"{self.page_url}/{token}",
                               token=token, provider=PROVIDER, provider_request_id=token,
                               expires_at=utcnow() + dt.timedelta(minutes=30))

    async def verify(self, capture: LivenessSession | str | bytes, *, id_photo: bytes | None = None,
                     name: str = "", id_number: str = "", mode: str = "silent",
                     validate_data: str = "") -> FaceResult:
        if isinstance(capture, (bytes, bytearray)):
            blank = is_blank(bytes(capture))
            mode = check_mode(mode)
        else:
            session_id = capture.session_id if isinstance(capture, LivenessSession) else capture
            blank = session_id not in self._sessions
            mode = self._sessions.get(session_id, mode)
        score = 0.0 if blank else DEMO_SCORE
        log.warning("DEMO face verification: %s", "blank capture" if blank else "passes")
        return FaceResult.judge(liveness_score=score, similarity=score, thresholds=self.thresholds,
                                provider=PROVIDER, provider_request_id=f"demo-{uuid.uuid4().hex[:16]}",
                                raw_code="demo_blank" if blank else "demo_pass",
                                message="DEMO: blank capture" if blank else "DEMO: pass", mode=mode)
