"""Enterprise checks [企业认证]: registry three-factor over the Aliyun market API shape, plus an
optional bank-transfer micro-payment challenge [对公打款小额验证].

Enterprise three-factor (``ENTERPRISE_VERIFY_URL``), same gateway and envelope as
``face_verify.providers.aliyun_identity`` (``Authorization: APPCODE``, form POST, answer
``{"code": "0", "message": ..., "result": {"res": ..., "description": ...}}``); form fields
``company_name``, ``credit_code`` (the USCC, validated locally first) and ``legal_person``.
Market vendors name these fields differently; the names here are the contract our fake and the
adapter share and must be checked against the purchased product's page before going live.

``res``: "1" 一致 -> ``match``; "2" 不一致 (any of the three differs) -> ``mismatch``;
"3" 查无此企业 -> ``unknown``. ``code`` and gateway errors map exactly as for persons.

Micro-payment (``ENTERPRISE_MICROPAY_URL``, optional; without it both methods raise
``OperationUnsupported``): no market product offers a standard shape, so the adapter speaks a
minimal one that a payment partner (or our fake) implements:

- ``POST <url>/start`` form ``account_name``, ``bank_account``, ``bank_code`` ->
  ``result: {"challenge_id": "...", "expires_in": 172800}`` (the partner sends 0.01-0.99 CNY);
- ``POST <url>/check`` form ``challenge_id``, ``amount_cents`` -> ``result.res`` "1" right
  amount -> ``match``, "2" wrong amount -> ``mismatch``, "3" expired / unknown challenge ->
  ``unknown``.

A wrong amount is a definite ``mismatch`` and is never retried; limiting the number of guesses
per challenge is the flow's job (it records every attempt).
"""
from __future__ import annotations

import datetime as dt

import httpx

from face_verify.api import (
    EnterpriseProvider, IdentityResult, MicroPaymentChallenge, OperationUnsupported, ProviderError,
    RetryPolicy, mask_account, utcnow,
)
from face_verify.providers.aliyun_identity import MarketApi

ENTERPRISE_VERIFY_URL = "https://qy3ys.market.alicloudapi.com/enterprise/verify"  # set per product


class AliyunMarketEnterprise(EnterpriseProvider):
    name = "aliyun_market_enterprise"

    def __init__(self, appcode: str, *, verify_url: str = ENTERPRISE_VERIFY_URL,
                 micropay_url: str = "", timeout: float = 5.0, retry: RetryPolicy = RetryPolicy(),
                 client: httpx.AsyncClient | None = None) -> None:
        self.api = MarketApi(appcode, self.name, timeout=timeout, retry=retry, client=client)
        self.verify_url = verify_url
        self.micropay_url = micropay_url.rstrip("/")

    async def aclose(self) -> None:
        await self.api.aclose()

    async def verify_enterprise(self, company_name: str, uscc: str,
                                legal_rep_name: str) -> IdentityResult:
        form = {"company_name": company_name, "credit_code": uscc, "legal_person": legal_rep_name}
        return await self.api.post(self.verify_url, form, "enterprise",
                                   self.api.interpreter("enterprise"))

    async def start_micro_payment(self, account_name: str, bank_account: str,
                                  bank_code: str) -> MicroPaymentChallenge:
        url = self._micropay("start")
        form = {"account_name": account_name, "bank_account": bank_account, "bank_code": bank_code}
        result, request_id = await self.api.post(url, form, "micro_payment start",
                                                 lambda result, request_id: (result, request_id))
        challenge_id = str(result.get("challenge_id", ""))
        if not challenge_id:
            raise ProviderError(f"{self.name}: no challenge_id in the answer", provider=self.name,
                                raw_code="no_challenge_id", retryable=False)
        now = utcnow()
        return MicroPaymentChallenge(
            challenge_id=challenge_id, provider=self.name, provider_request_id=request_id,
            account_name=account_name, bank_account_masked=mask_account(bank_account),
            expires_at=now + dt.timedelta(seconds=int(result.get("expires_in", 172800))),
            created_at=now)

    async def check_micro_payment(self, challenge_id: str, amount_cents: int) -> IdentityResult:
        url = self._micropay("check")
        form = {"challenge_id": challenge_id, "amount_cents": str(int(amount_cents))}
        return await self.api.post(url, form, "micro_payment check",
                                   self.api.interpreter("micro_payment"))

    def _micropay(self, step: str) -> str:
        if not self.micropay_url:
            raise OperationUnsupported("micro-payment verification is not configured "
                                       "(ENTERPRISE_MICROPAY_URL)", provider=self.name,
                                       raw_code="micro_payment")
        return f"{self.micropay_url}/{step}"
