"""Enterprise adapter (+ micro-payment) against the fake market; the insurer's callback against
the fake insurer (HMAC both ways); in-process plug-ins."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from face_verify.api import (
    IdentityResult, OperationUnsupported, ProviderError, ProviderRejected, ProviderThrottled,
    ProviderTimeout,
)
from face_verify.providers.enterprise import AliyunMarketEnterprise
from face_verify.providers.insurer_callback import InsurerCallbackIdentity, PluginError, load_plugin
from tests.fakes.identity_servers import MICRO_AMOUNT_CENTS

COMPANY, USCC, LEGAL = "测试保险股份有限公司", "91350100M000100Y43", "张三"
PLUGIN = "tests.fakes.identity_servers:SamplePlugin"


# ---------------------------------------------------------------------------------------------
# Enterprise
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["match", "mismatch", "unknown"])
async def test_enterprise_outcomes(aliyun_fake, aliyun_enterprise, scenario) -> None:
    aliyun_fake.scenario = scenario
    result = await aliyun_enterprise.verify_enterprise(COMPANY, USCC, LEGAL)
    assert result.outcome == scenario and result.check == "enterprise"
    assert aliyun_fake.requests[0].form() == {"company_name": COMPANY, "credit_code": USCC,
                                              "legal_person": LEGAL}
    assert aliyun_fake.count() == 1


async def test_enterprise_retry_and_timeout(aliyun_fake, aliyun_enterprise) -> None:
    aliyun_fake.script("error500")
    assert (await aliyun_enterprise.verify_enterprise(COMPANY, USCC, LEGAL)).passed
    assert aliyun_fake.count() == 2
    aliyun_fake.reset()
    aliyun_fake.scenario = "timeout"
    with pytest.raises(ProviderTimeout):
        await aliyun_enterprise.verify_enterprise(COMPANY, USCC, LEGAL)
    assert aliyun_fake.count() == 3


async def test_micro_payment_round_trip(aliyun_fake, aliyun_enterprise) -> None:
    challenge = await aliyun_enterprise.start_micro_payment(COMPANY, "6222021234567890123", "ICBC")
    assert challenge.bank_account_masked == "6222****0123"
    assert challenge.expires_at > challenge.created_at
    wrong = await aliyun_enterprise.check_micro_payment(challenge.challenge_id, MICRO_AMOUNT_CENTS + 1)
    right = await aliyun_enterprise.check_micro_payment(challenge.challenge_id, MICRO_AMOUNT_CENTS)
    unknown = await aliyun_enterprise.check_micro_payment("mp-none", MICRO_AMOUNT_CENTS)
    assert (wrong.outcome, right.outcome, unknown.outcome) == ("mismatch", "match", "unknown")
    assert right.check == "micro_payment"
    assert aliyun_fake.count("/micropay/check") == 3      # each guess once, none retried


async def test_micro_payment_unsupported_without_url(aliyun_fake) -> None:
    provider = AliyunMarketEnterprise(aliyun_fake.appcode, verify_url=aliyun_fake.url + "/enterprise/verify")
    try:
        with pytest.raises(OperationUnsupported) as caught:
            await provider.start_micro_payment(COMPANY, "6222021234567890123", "ICBC")
        with pytest.raises(OperationUnsupported):
            await provider.check_micro_payment("x", 1)
    finally:
        await provider.aclose()
    assert caught.value.code == "IDENTITY_OPERATION_UNSUPPORTED" and caught.value.status == 501
    assert aliyun_fake.count() == 0


# ---------------------------------------------------------------------------------------------
# Insurer callback
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["match", "mismatch", "unknown"])
async def test_insurer_outcomes(insurer_fake, insurer_identity, scenario) -> None:
    insurer_fake.scenario = scenario
    result = await insurer_identity.verify_three_factor("张三", "11010519491231002X", "13800138000")
    assert isinstance(result, IdentityResult)
    assert result.outcome == scenario and result.provider == "insurer_callback"
    assert result.raw_code == f"INS-{scenario.upper()}" and result.provider_request_id.startswith("ins-")
    assert insurer_fake.count() == 1


async def test_insurer_request_is_signed_json(insurer_fake, insurer_identity) -> None:
    await insurer_identity.verify_two_factor("张三", "11010519491231002X")
    seen = insurer_fake.requests[0]
    expected = hmac.new(insurer_fake.secret.encode(), seen.body, hashlib.sha256).hexdigest()
    assert seen.headers["x-signature"] == expected
    body = json.loads(seen.body)
    assert body["check"] == "two_factor" and "mobile" not in body
    assert body["request_id"] == seen.headers["x-request-id"] and isinstance(body["timestamp"], int)


async def test_insurer_wrong_secret_is_refused(insurer_fake) -> None:
    provider = InsurerCallbackIdentity(insurer_fake.endpoint, "wrong-secret")
    try:
        with pytest.raises(ProviderRejected) as caught:
            await provider.verify_two_factor("张三", "11010519491231002X")
    finally:
        await provider.aclose()
    assert caught.value.raw_code == "http_401" and insurer_fake.count() == 1


async def test_insurer_retries_reuse_the_same_request_id(insurer_fake, insurer_identity) -> None:
    insurer_fake.script("error500", "throttled")
    result = await insurer_identity.verify_two_factor("张三", "11010519491231002X")
    assert result.outcome == "match" and insurer_fake.count() == 3
    ids = {r.headers["x-request-id"] for r in insurer_fake.requests}
    assert len(ids) == 1                                  # the insurer can de-duplicate


@pytest.mark.parametrize("scenario, error, raw", [
    ("error500", ProviderError, "http_500"), ("throttled", ProviderThrottled, "http_429"),
    ("timeout", ProviderTimeout, "ReadTimeout")])
async def test_insurer_persistent_failures(insurer_fake, insurer_identity, scenario, error, raw) -> None:
    insurer_fake.scenario = scenario
    with pytest.raises(error) as caught:
        await insurer_identity.verify_two_factor("张三", "11010519491231002X")
    assert caught.value.raw_code == raw and insurer_fake.count() == 3


@pytest.mark.parametrize("scenario", ["bad_answer_signature", "bad_outcome"])
async def test_insurer_answer_outside_contract_is_refused(insurer_fake, insurer_identity, scenario) -> None:
    insurer_fake.scenario = scenario
    with pytest.raises(ProviderRejected) as caught:
        await insurer_identity.verify_two_factor("张三", "11010519491231002X")
    assert caught.value.raw_code == scenario and insurer_fake.count() == 1


async def test_insurer_answer_signature_check_can_be_disabled(insurer_fake) -> None:
    insurer_fake.scenario = "bad_answer_signature"
    provider = InsurerCallbackIdentity(insurer_fake.endpoint, insurer_fake.secret,
                                       verify_answer_signature=False)
    try:
        assert (await provider.verify_two_factor("张三", "11010519491231002X")).outcome == "match"
    finally:
        await provider.aclose()


def test_insurer_needs_url_and_secret() -> None:
    with pytest.raises(ValueError):
        InsurerCallbackIdentity("https://insurer.test/id", "")


# ---------------------------------------------------------------------------------------------
# Plug-in
# ---------------------------------------------------------------------------------------------


async def test_plugin_answers_are_recorded_as_is() -> None:
    provider = load_plugin(PLUGIN, known={"11010519491231002X": "张三"})
    assert provider.name == "sample_insurer_plugin"
    results = [await provider.verify_two_factor(n, i) for n, i in
               [("张三", "11010519491231002X"), ("李四", "11010519491231002X"), ("张三", "440304199001010011")]]
    assert [r.outcome for r in results] == ["match", "mismatch", "unknown"]
    assert results[0].provider == "sample_insurer_plugin" and results[0].raw_code == "MATCH"
    await provider.aclose()


async def test_plugin_mistakes_become_provider_errors() -> None:
    failing = load_plugin(PLUGIN, fail=True)
    with pytest.raises(ProviderError) as caught:
        await failing.verify_two_factor("张三", "11010519491231002X")
    assert caught.value.raw_code == "RuntimeError" and not caught.value.retryable
    with pytest.raises(ProviderError) as caught:
        await load_plugin(PLUGIN).verify_three_factor("张三", "11010519491231002X", "13800138000")
    assert caught.value.raw_code == "bad_result"


@pytest.mark.parametrize("spec", ["no_colon", "tests.fakes.identity_servers:Nope", "no.such.module:X",
                                  "tests.fakes.identity_servers:Seen", ":X"])
def test_bad_plugin_specs(spec: str) -> None:
    with pytest.raises(PluginError):
        load_plugin(spec)


def test_plugin_bad_options() -> None:
    with pytest.raises(PluginError):
        load_plugin(PLUGIN, colour="red")
