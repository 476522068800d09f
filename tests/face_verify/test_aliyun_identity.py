"""Aliyun market two-/three-factor adapter against the fake gateway: every outcome, every error
class, retries with backoff only where a retry can help, timeouts, AppCode."""
from __future__ import annotations

import httpx
import pytest

from face_verify.api import (
    IdentityResult, ProviderError, ProviderRejected, ProviderThrottled, ProviderTimeout, RetryPolicy,
)
from face_verify.providers.aliyun_identity import AliyunMarketIdentity

NAME, ID, MOBILE = "张三", "11010519491231002X", "13800138000"
THREE, TWO = "/mobile/verify_real_name", "/eid/check"


@pytest.mark.parametrize("scenario, outcome, raw", [
    ("match", "match", "1"), ("mismatch", "mismatch", "2"), ("unknown", "unknown", "3")])
async def test_three_factor_definite_answers(aliyun_fake, aliyun_identity, scenario, outcome, raw) -> None:
    aliyun_fake.scenario = scenario
    result = await aliyun_identity.verify_three_factor(NAME, ID, MOBILE)
    assert isinstance(result, IdentityResult)
    assert (result.outcome, result.raw_code, result.check) == (outcome, raw, "three_factor")
    assert result.provider == "aliyun_market" and result.provider_request_id
    assert result.passed is (outcome == "match")
    assert aliyun_fake.count(THREE) == 1          # a definite answer is never asked twice


@pytest.mark.parametrize("scenario, outcome", [("match", "match"), ("mismatch", "mismatch"),
                                               ("unknown", "unknown")])
async def test_two_factor_definite_answers(aliyun_fake, aliyun_identity, scenario, outcome) -> None:
    aliyun_fake.scenario = scenario
    result = await aliyun_identity.verify_two_factor(NAME, ID)
    assert result.outcome == outcome and result.check == "two_factor"
    assert aliyun_fake.count(TWO) == 1


async def test_request_shape(aliyun_fake, aliyun_identity) -> None:
    result = await aliyun_identity.verify_three_factor(NAME, ID, MOBILE)
    seen = aliyun_fake.requests[0]
    assert seen.method == "POST" and seen.path == THREE
    assert seen.headers["authorization"] == f"APPCODE {aliyun_fake.appcode}"
    assert seen.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert seen.form() == {"name": NAME, "idcard": ID, "mobile": MOBILE}
    assert result.message == "一致"
    record = result.to_record()
    assert record["checked_at"].endswith("+00:00") and record["outcome"] == "match"


async def test_wrong_appcode_is_rejected_without_retry(aliyun_fake) -> None:
    provider = AliyunMarketIdentity("wrong", three_factor_url=aliyun_fake.url + THREE,
                                    retry=RetryPolicy(attempts=3, base_delay=0.01))
    try:
        with pytest.raises(ProviderRejected) as caught:
            await provider.verify_three_factor(NAME, ID, MOBILE)
    finally:
        await provider.aclose()
    assert caught.value.code == "IDENTITY_PROVIDER_REJECTED" and not caught.value.retryable
    assert "Invalid AppCode" in caught.value.raw_code
    assert aliyun_fake.count() == 1


@pytest.mark.parametrize("scenario, raw", [("bad_param", "20010"), ("quota", "http_403:Quota Exhausted")])
async def test_refusals_are_not_retried(aliyun_fake, aliyun_identity, scenario, raw) -> None:
    aliyun_fake.scenario = scenario
    with pytest.raises(ProviderRejected) as caught:
        await aliyun_identity.verify_two_factor(NAME, ID)
    assert caught.value.raw_code == raw
    assert aliyun_fake.count() == 1


async def test_missing_field_answers_code_400_rejected(aliyun_fake, aliyun_identity) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await aliyun_identity.verify_three_factor(NAME, ID, "")
    assert caught.value.raw_code == "400"


@pytest.mark.parametrize("scenario, error", [("error500", ProviderError), ("backend_error", ProviderError),
                                             ("source_error", ProviderError), ("garbled", ProviderError),
                                             ("throttled", ProviderThrottled)])
async def test_retryable_failures_then_success(aliyun_fake, aliyun_identity, scenario, error) -> None:
    aliyun_fake.script(scenario, scenario)   # two failures, then the standing "match"
    result = await aliyun_identity.verify_three_factor(NAME, ID, MOBILE)
    assert result.outcome == "match"
    assert aliyun_fake.count() == 3


@pytest.mark.parametrize("scenario, error, code", [
    ("error500", ProviderError, "IDENTITY_PROVIDER_ERROR"),
    ("throttled", ProviderThrottled, "IDENTITY_PROVIDER_THROTTLED")])
async def test_retries_give_up_after_attempts(aliyun_fake, aliyun_identity, scenario, error, code) -> None:
    aliyun_fake.scenario = scenario
    with pytest.raises(error) as caught:
        await aliyun_identity.verify_three_factor(NAME, ID, MOBILE)
    assert caught.value.code == code and caught.value.retryable
    assert caught.value.provider_request_id            # the gateway's X-Ca-Request-Id
    assert aliyun_fake.count() == 3


async def test_backoff_is_exponential(aliyun_fake, aliyun_identity) -> None:
    aliyun_fake.scenario = "error500"
    with pytest.raises(ProviderError):
        await aliyun_identity.verify_two_factor(NAME, ID)
    times = [r.at for r in aliyun_fake.requests]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(gaps) == 2
    assert gaps[0] >= 0.05 and gaps[1] >= 0.10          # base 0.05 s, factor 2, no jitter
    assert gaps[1] > gaps[0]


async def test_timeout_is_retried_then_raised(aliyun_fake, aliyun_identity) -> None:
    aliyun_fake.scenario = "timeout"
    with pytest.raises(ProviderTimeout) as caught:
        await aliyun_identity.verify_three_factor(NAME, ID, MOBILE)
    assert caught.value.code == "IDENTITY_PROVIDER_TIMEOUT" and caught.value.status == 504
    assert aliyun_fake.count() == 3


async def test_timeout_then_answer(aliyun_fake, aliyun_identity) -> None:
    aliyun_fake.script("timeout")
    aliyun_fake.scenario = "mismatch"
    result = await aliyun_identity.verify_three_factor(NAME, ID, MOBILE)
    assert result.outcome == "mismatch" and aliyun_fake.count() == 2


async def test_unreachable_provider_is_a_retryable_error() -> None:
    provider = AliyunMarketIdentity("code", three_factor_url="http://127.0.0.1:9/x",
                                    retry=RetryPolicy(attempts=2, base_delay=0.01))
    try:
        with pytest.raises(ProviderError) as caught:
            await provider.verify_three_factor(NAME, ID, MOBILE)
    finally:
        await provider.aclose()
    assert caught.value.retryable and caught.value.raw_code == "ConnectError"


async def test_injected_client_is_used(aliyun_fake) -> None:
    async with httpx.AsyncClient(timeout=1.0) as client:
        provider = AliyunMarketIdentity(aliyun_fake.appcode, two_factor_url=aliyun_fake.url + TWO,
                                        client=client)
        assert (await provider.verify_two_factor(NAME, ID)).outcome == "match"


def test_appcode_required() -> None:
    with pytest.raises(ValueError):
        AliyunMarketIdentity("")
