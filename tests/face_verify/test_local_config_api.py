"""DEMO providers, settings -> providers, and the contract's own rules (results, retries)."""
from __future__ import annotations

import datetime as dt
import io
import logging

import pytest
from PIL import Image

from backend.validation import IdNumberInvalid, MobileInvalid, NameInvalid, UsccInvalid
from face_verify.api import (
    FaceResult, FaceThresholds, IdentityResult, ProviderError, ProviderRejected, RetryPolicy,
    with_retries,
)
from face_verify.config import IdentityConfigError, build_providers
from face_verify.local import LocalEnterpriseProvider, LocalFaceVerifier, LocalIdentityProvider, is_blank
from face_verify.providers.aliyun_identity import AliyunMarketIdentity
from face_verify.providers.enterprise import AliyunMarketEnterprise
from face_verify.providers.insurer_callback import InsurerCallbackIdentity, PluginIdentity
from face_verify.providers.tencent_face import TencentFaceVerifier

ID, MOBILE = "11010519491231002X", "13800138000"


def png(colour_noise: bool) -> bytes:
    image = Image.new("RGB", (16, 16), "white")
    if colour_noise:
        for x in range(16):
            image.putpixel((x, x), (x * 10, 0, 255 - x * 10))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# DEMO providers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, outcome", [("张三", "match"), ("张不符", "mismatch"), ("王无记录", "unknown")])
async def test_local_identity_rules(name, outcome, caplog) -> None:
    provider = LocalIdentityProvider()
    with caplog.at_level(logging.WARNING, logger="face_verify.demo"):
        two = await provider.verify_two_factor(name, ID)
        three = await provider.verify_three_factor(name, ID, "+86 13800138000")
    assert (two.outcome, three.outcome) == (outcome, outcome)
    assert two.provider == "local_demo" and two.message.startswith("DEMO")
    assert all(r.getMessage().startswith("DEMO") for r in caplog.records) and caplog.records


@pytest.mark.parametrize("args, error", [
    (("张3", ID, MOBILE), NameInvalid), (("张三", "11010519491231002Y", MOBILE), IdNumberInvalid),
    (("张三", ID, "12345"), MobileInvalid)])
async def test_local_identity_validates_input(args, error) -> None:
    with pytest.raises(error):
        await LocalIdentityProvider().verify_three_factor(*args)


async def test_local_enterprise_and_micro_payment() -> None:
    provider = LocalEnterpriseProvider()
    assert (await provider.verify_enterprise("测试保险公司", "91350100M000100Y43", "张三")).outcome == "match"
    assert (await provider.verify_enterprise("不符公司", "91350100M000100Y43", "张三")).outcome == "mismatch"
    with pytest.raises(UsccInvalid):
        await provider.verify_enterprise("测试保险公司", "91350100M000100Y44", "张三")
    challenge = await provider.start_micro_payment("测试保险公司", "6222021234567890123", "ICBC")
    amount = provider.demo_amount_cents(challenge.challenge_id)
    assert 1 <= amount <= 99
    assert (await provider.check_micro_payment(challenge.challenge_id, amount)).outcome == "match"
    assert (await provider.check_micro_payment(challenge.challenge_id, amount % 99 + 1)).outcome == "mismatch"
    assert (await provider.check_micro_payment("nope", amount)).outcome == "unknown"


async def test_local_face_passes_unless_blank() -> None:
    verifier = LocalFaceVerifier(FaceThresholds(liveness=0.9, similarity=0.9))
    session = await verifier.create_liveness_session("action", name="张三", id_number=ID)
    assert session.url == f"/demo/face/{session.token}"
    ok = await verifier.verify(session)
    assert ok.passed and (ok.liveness_score, ok.similarity) == (0.95, 0.95) and ok.mode == "action"
    assert (await verifier.verify(png(True), id_photo=png(True))).passed
    for blank in (b"", b"\x00" * 100, png(False)):
        result = await verifier.verify(blank, id_photo=png(True))
        assert not result.passed and result.liveness_score == 0.0 and result.raw_code == "demo_blank"
    assert not (await verifier.verify("unknown-session")).passed


def test_is_blank_on_video_bytes() -> None:
    assert not is_blank(b"\x00\x00\x00\x18ftypmp42 some video")


async def test_local_face_strict_threshold_fails() -> None:
    verifier = LocalFaceVerifier(FaceThresholds(liveness=0.96, similarity=0.5))
    assert not (await verifier.verify(png(True), name="张三", id_number=ID)).passed


# ---------------------------------------------------------------------------------------------
# config
# ---------------------------------------------------------------------------------------------


async def test_default_is_demo() -> None:
    providers = build_providers({})
    assert isinstance(providers.identity, LocalIdentityProvider)
    assert isinstance(providers.enterprise, LocalEnterpriseProvider)
    assert isinstance(providers.face, LocalFaceVerifier)
    assert providers.face.thresholds == FaceThresholds(0.8, 0.8)
    await providers.aclose()


async def test_real_providers_from_settings() -> None:
    providers = build_providers({
        "IDENTITY_PROVIDER": "aliyun", "ENTERPRISE_PROVIDER": "aliyun", "FACE_PROVIDER": "tencent",
        "ALIYUN_MARKET_APPCODE": "abc", "ALIYUN_IDENTITY_URL": "http://127.0.0.1:1/3f",
        "ENTERPRISE_MICROPAY_URL": "http://127.0.0.1:1/mp/", "TENCENT_SECRET_ID": "AKID",
        "TENCENT_SECRET_KEY": "k", "TENCENT_FACEID_RULE_ID": "7", "FACE_LIVENESS_THRESHOLD": "0.9",
        "FACE_SIMILARITY_THRESHOLD": "0.75", "IDENTITY_RETRY_ATTEMPTS": "1", "IDENTITY_TIMEOUT_SECONDS": "2.5",
        "ENV": "production"})
    assert isinstance(providers.identity, AliyunMarketIdentity)
    assert providers.identity.three_factor_url == "http://127.0.0.1:1/3f"
    assert providers.identity.api.retry.attempts == 1
    assert isinstance(providers.enterprise, AliyunMarketEnterprise)
    assert providers.enterprise.micropay_url == "http://127.0.0.1:1/mp"
    assert isinstance(providers.face, TencentFaceVerifier)
    assert providers.face.thresholds == FaceThresholds(liveness=0.9, similarity=0.75)
    assert providers.face.rule_ids == {"silent": "7", "action": "7"}
    await providers.aclose()


async def test_insurer_url_and_plugin() -> None:
    base = {"IDENTITY_PROVIDER": "insurer", "INSURER_IDENTITY_URL": "https://ins.test/id",
            "INSURER_IDENTITY_SECRET": "s"}
    providers = build_providers(base)
    assert isinstance(providers.identity, InsurerCallbackIdentity)
    await providers.aclose()
    plugged = build_providers({**base, "INSURER_IDENTITY_PLUGIN": "tests.fakes.identity_servers:SamplePlugin",
                               "INSURER_IDENTITY_PLUGIN_OPTIONS": '{"known": {"1": "张三"}}'})
    assert isinstance(plugged.identity, PluginIdentity)
    assert plugged.identity.inner.known == {"1": "张三"}


@pytest.mark.parametrize("settings, names", [
    ({"IDENTITY_PROVIDER": "magic"}, "IDENTITY_PROVIDER"),
    ({"IDENTITY_PROVIDER": "aliyun"}, "ALIYUN_MARKET_APPCODE"),
    ({"IDENTITY_PROVIDER": "insurer", "INSURER_IDENTITY_URL": "https://x"}, "INSURER_IDENTITY_SECRET"),
    ({"IDENTITY_PROVIDER": "insurer", "INSURER_IDENTITY_PLUGIN": "nope"}, "INSURER_IDENTITY_PLUGIN"),
    ({"IDENTITY_PROVIDER": "insurer", "INSURER_IDENTITY_PLUGIN": "a:b",
      "INSURER_IDENTITY_PLUGIN_OPTIONS": "[1]"}, "INSURER_IDENTITY_PLUGIN_OPTIONS"),
    ({"FACE_PROVIDER": "tencent", "TENCENT_SECRET_ID": "a", "TENCENT_SECRET_KEY": "b"}, "TENCENT_FACEID_RULE_ID"),
    ({"FACE_SIMILARITY_THRESHOLD": "1.5"}, "FACE_SIMILARITY_THRESHOLD"),
    ({"FACE_LIVENESS_THRESHOLD": "high"}, "FACE_LIVENESS_THRESHOLD"),
    ({"IDENTITY_PROVIDER": "aliyun", "ALIYUN_MARKET_APPCODE": "a", "IDENTITY_RETRY_ATTEMPTS": "2.5"},
     "IDENTITY_RETRY_ATTEMPTS"),
    ({"ENV": "production"}, "IDENTITY_PROVIDER=local"),
    ({"ENV": "production", "IDENTITY_PROVIDER": "aliyun", "ALIYUN_MARKET_APPCODE": "a"}, "ENTERPRISE_PROVIDER"),
])
def test_bad_settings_name_the_variable(settings, names) -> None:
    with pytest.raises(IdentityConfigError) as caught:
        build_providers(settings)
    assert names in str(caught.value)


# ---------------------------------------------------------------------------------------------
# The contract itself
# ---------------------------------------------------------------------------------------------


def test_identity_result_rejects_unknown_outcome() -> None:
    with pytest.raises(ValueError):
        IdentityResult(outcome="maybe", provider="p", provider_request_id="", raw_code="", message="",
                       checked_at=dt.datetime.now(dt.timezone.utc))


def test_face_result_judge_and_record() -> None:
    result = FaceResult.judge(liveness_score=0.8, similarity=0.79999, thresholds=FaceThresholds(),
                              provider="p", provider_request_id="r", raw_code="c", message="m")
    assert not result.passed and result.similarity == 0.8   # rounded for the record, judged unrounded
    assert result.to_record()["liveness_threshold"] == 0.8


@pytest.mark.parametrize("liveness, similarity", [(-0.1, 0.5), (0.5, 1.01)])
def test_thresholds_are_bounded(liveness, similarity) -> None:
    with pytest.raises(ValueError):
        FaceThresholds(liveness, similarity)


def test_retry_delays_grow_and_cap() -> None:
    policy = RetryPolicy(attempts=5, base_delay=0.5, factor=2.0, max_delay=1.5, jitter=0.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 1.5, 1.5]
    jittered = RetryPolicy(base_delay=1.0, jitter=0.1)
    assert all(0.9 <= jittered.delay(1) <= 1.1 for _ in range(50))


async def test_with_retries_only_retries_retryable_errors() -> None:
    calls: list[int] = []

    async def refused() -> None:
        calls.append(1)
        raise ProviderRejected(provider="p")

    with pytest.raises(ProviderRejected):
        await with_retries(refused, RetryPolicy(attempts=4, base_delay=0.001), "x")
    assert len(calls) == 1

    async def flaky() -> str:
        calls.append(2)
        if calls.count(2) < 3:
            raise ProviderError(provider="p")
        return "ok"

    assert await with_retries(flaky, RetryPolicy(attempts=4, base_delay=0.001), "x") == "ok"
    assert calls.count(2) == 3


def test_error_codes_are_stable() -> None:
    from face_verify import api

    assert {cls.code for cls in (api.ProviderError, api.ProviderTimeout, api.ProviderThrottled,
                                 api.ProviderRejected, api.OperationUnsupported, api.FaceInputInvalid)} == {
        "IDENTITY_PROVIDER_ERROR", "IDENTITY_PROVIDER_TIMEOUT", "IDENTITY_PROVIDER_THROTTLED",
        "IDENTITY_PROVIDER_REJECTED", "IDENTITY_OPERATION_UNSUPPORTED", "FACE_INPUT_INVALID"}
    error = api.ProviderTimeout(provider="aliyun_market", raw_code="ReadTimeout")
    assert error.retryable and error.to_dict()["details"] == {"provider": "aliyun_market",
                                                              "raw_code": "ReadTimeout"}
    assert not api.ProviderRejected().retryable and api.ProviderError(retryable=False).retryable is False
