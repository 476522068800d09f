"""Tencent FaceID adapter against the fake API, which re-verifies every TC3 signature."""
from __future__ import annotations

import base64
import time

import pytest

from face_verify.api import (
    FaceInputInvalid, FaceThresholds, LivenessSession, ProviderError, ProviderRejected,
    ProviderThrottled, ProviderTimeout, RetryPolicy,
)
from face_verify.providers.tencent_face import TencentFaceVerifier, tc3_authorization

NAME, ID = "张三", "11010519491231002X"
VIDEO, PHOTO = b"\x00\x00\x00\x18ftypmp42-fake-video", b"\x89PNG-fake-id-photo"


async def test_hosted_session_then_result(tencent_fake, tencent_face) -> None:
    session = await tencent_face.create_liveness_session("silent", name=NAME, id_number=ID,
                                                         redirect_url="https://x.test/back",
                                                         reference="signer-42")
    assert isinstance(session, LivenessSession)
    assert session.token and session.session_id == session.token
    assert session.url.startswith("https://faceid.qq.com/") and session.mode == "silent"
    sent = tencent_fake.requests[0].json()
    assert sent == {"RuleId": "1", "IdCard": ID, "Name": NAME,
                    "RedirectUrl": "https://x.test/back", "Extra": "signer-42"}
    result = await tencent_face.verify(session)
    assert result.passed and result.liveness_score == 1.0 and result.similarity == 0.955
    assert (result.liveness_threshold, result.similarity_threshold) == (0.8, 0.8)
    assert result.provider == "tencent_faceid" and result.provider_request_id
    assert "LiveStatus=0" in result.raw_code
    assert tencent_fake.requests[1].headers["x-tc-action"] == "GetDetectInfoEnhanced"


async def test_action_mode_uses_its_rule_and_session_id_string(tencent_fake, tencent_face) -> None:
    session = await tencent_face.create_liveness_session("action", name=NAME, id_number=ID)
    assert tencent_fake.requests[0].json()["RuleId"] == "2"
    result = await tencent_face.verify(session.session_id)
    assert result.mode == "action"
    assert tencent_fake.requests[1].json() == {"BizToken": session.token, "RuleId": "2", "InfoType": "1"}


@pytest.mark.parametrize("scenario, liveness, similarity", [
    ("low_similarity", 1.0, 0.4), ("liveness_fail", 0.0, 0.0)])
async def test_hosted_session_failures(tencent_fake, tencent_face, scenario, liveness, similarity) -> None:
    session = await tencent_face.create_liveness_session("silent", name=NAME, id_number=ID)
    tencent_fake.scenario = scenario
    result = await tencent_face.verify(session)
    assert not result.passed
    assert (result.liveness_score, result.similarity) == (liveness, similarity)


async def test_upload_compared_with_id_photo(tencent_fake, tencent_face) -> None:
    result = await tencent_face.verify(VIDEO, id_photo=PHOTO, mode="action", validate_data="")
    seen = tencent_fake.requests[0]
    assert seen.headers["x-tc-action"] == "LivenessCompare"
    body = seen.json()
    assert base64.b64decode(body["VideoBase64"]) == VIDEO and base64.b64decode(body["ImageBase64"]) == PHOTO
    assert body["LivenessType"] == "ACTION"
    assert result.passed and result.raw_code == "Success" and result.message == "成功"


async def test_upload_compared_with_authoritative_photo(tencent_fake, tencent_face) -> None:
    result = await tencent_face.verify(VIDEO, name=NAME, id_number=ID, mode="silent")
    body = tencent_fake.requests[0].json()
    assert tencent_fake.requests[0].headers["x-tc-action"] == "LivenessRecognition"
    assert (body["IdCard"], body["Name"], body["LivenessType"]) == (ID, NAME, "SILENT")
    assert result.passed


@pytest.mark.parametrize("scenario, liveness, similarity, raw", [
    ("low_similarity", 1.0, 0.4, "FailedOperation.CompareLowSimilarity"),
    ("liveness_fail", 0.0, 0.0, "FailedOperation.SilentDetectFail")])
async def test_upload_definite_failures_not_retried(tencent_fake, tencent_face, scenario, liveness,
                                                    similarity, raw) -> None:
    tencent_fake.scenario = scenario
    result = await tencent_face.verify(VIDEO, id_photo=PHOTO)
    assert not result.passed and result.raw_code == raw
    assert (result.liveness_score, result.similarity) == (liveness, similarity)
    assert tencent_fake.count() == 1


@pytest.mark.parametrize("sim, liveness_t, similarity_t, passed", [
    (80.0, 0.8, 0.8, True), (79.99, 0.8, 0.8, False), (70.0, 0.8, 0.7, True), (95.0, 1.0, 0.95, True)])
async def test_thresholds_are_ours(tencent_fake, sim, liveness_t, similarity_t, passed) -> None:
    tencent_fake.sim = sim
    verifier = TencentFaceVerifier(tencent_fake.secret_id, tencent_fake.secret_key, rule_id="1",
                                   endpoint=tencent_fake.url,
                                   thresholds=FaceThresholds(liveness=liveness_t, similarity=similarity_t))
    try:
        result = await verifier.verify(VIDEO, id_photo=PHOTO)
    finally:
        await verifier.aclose()
    assert result.passed is passed and result.similarity == round(sim / 100, 4)
    assert result.similarity_threshold == similarity_t


async def test_bad_secret_is_rejected_by_signature_check(tencent_fake) -> None:
    verifier = TencentFaceVerifier(tencent_fake.secret_id, "not-the-key", rule_id="1",
                                   endpoint=tencent_fake.url, retry=RetryPolicy(attempts=3, base_delay=0.01))
    try:
        with pytest.raises(ProviderRejected) as caught:
            await verifier.verify(VIDEO, id_photo=PHOTO)
    finally:
        await verifier.aclose()
    assert caught.value.raw_code == "AuthFailure.SignatureFailure"
    assert tencent_fake.count() == 1


async def test_unknown_secret_id_and_stale_timestamp(tencent_fake) -> None:
    for kwargs, code in [({"secret_id": "AKIDother"}, "AuthFailure.SecretIdNotFound"),
                         ({"clock": lambda: time.time() - 3600}, "AuthFailure.SignatureExpire")]:
        verifier = TencentFaceVerifier(kwargs.get("secret_id", tencent_fake.secret_id),
                                       tencent_fake.secret_key, rule_id="1", endpoint=tencent_fake.url,
                                       clock=kwargs.get("clock", time.time))
        try:
            with pytest.raises(ProviderRejected) as caught:
                await verifier.verify(VIDEO, id_photo=PHOTO)
        finally:
            await verifier.aclose()
        assert caught.value.raw_code == code


def test_signature_changes_with_every_signed_part() -> None:
    base = dict(host="faceid.tencentcloudapi.com", action="DetectAuth", payload=b"{}", timestamp=1700000000)
    reference = tc3_authorization("AKID", "key", **base)
    assert reference.startswith("TC3-HMAC-SHA256 Credential=AKID/2023-11-14/faceid/tc3_request, "
                                "SignedHeaders=content-type;host;x-tc-action, Signature=")
    for change in ({"host": "other"}, {"action": "GetDetectInfoEnhanced"}, {"payload": b"{ }"},
                   {"timestamp": 1700000001}):
        assert tc3_authorization("AKID", "key", **{**base, **change}) != reference
    assert tc3_authorization("AKID", "key2", **base) != reference


async def test_tampered_body_fails_the_fake_check(tencent_fake) -> None:
    import httpx

    payload = b'{"RuleId":"1"}'
    headers = {"Content-Type": "application/json; charset=utf-8", "X-TC-Action": "DetectAuth",
               "X-TC-Version": "2018-03-01", "X-TC-Timestamp": str(int(time.time())),
               "Authorization": tc3_authorization(tencent_fake.secret_id, tencent_fake.secret_key,
                                                  host=tencent_fake.url.split("//")[1],
                                                  action="DetectAuth", payload=payload,
                                                  timestamp=int(time.time()))}
    async with httpx.AsyncClient() as client:
        ok = await client.post(tencent_fake.url + "/", content=payload, headers=headers)
        bad = await client.post(tencent_fake.url + "/", content=b'{"RuleId":"9"}', headers=headers)
    assert "BizToken" in ok.json()["Response"]
    assert bad.json()["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize("scenario", ["error500", "internal_error", "throttled", "timeout"])
async def test_retryable_failures_then_success(tencent_fake, tencent_face, scenario) -> None:
    tencent_fake.script(scenario)
    result = await tencent_face.verify(VIDEO, id_photo=PHOTO)
    assert result.passed and tencent_fake.count() == 2


@pytest.mark.parametrize("scenario, error, code", [
    ("error500", ProviderError, "IDENTITY_PROVIDER_ERROR"),
    ("throttled", ProviderThrottled, "IDENTITY_PROVIDER_THROTTLED"),
    ("timeout", ProviderTimeout, "IDENTITY_PROVIDER_TIMEOUT")])
async def test_persistent_failures_raise_after_attempts(tencent_fake, tencent_face, scenario, error, code) -> None:
    tencent_fake.scenario = scenario
    with pytest.raises(error) as caught:
        await tencent_face.create_liveness_session("silent", name=NAME, id_number=ID)
    assert caught.value.code == code and tencent_fake.count() == 3


async def test_decode_failure_is_a_refusal(tencent_fake, tencent_face) -> None:
    tencent_fake.scenario = "decode_fail"
    with pytest.raises(ProviderRejected) as caught:
        await tencent_face.verify(VIDEO, id_photo=PHOTO)
    assert caught.value.raw_code == "FailedOperation.VideoDecodeFailed" and tencent_fake.count() == 1


async def test_unknown_biz_token_is_rejected(tencent_face) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await tencent_face.verify("no-such-token")
    assert caught.value.raw_code == "InvalidParameterValue.BizTokenIllegal"


@pytest.mark.parametrize("kwargs", [{}, {"name": NAME}, {"id_number": ID}])
async def test_upload_needs_a_reference(tencent_face, tencent_fake, kwargs) -> None:
    with pytest.raises(FaceInputInvalid):
        await tencent_face.verify(VIDEO, **kwargs)
    assert tencent_fake.count() == 0


async def test_empty_video_and_bad_mode(tencent_face) -> None:
    with pytest.raises(FaceInputInvalid):
        await tencent_face.verify(b"", id_photo=PHOTO)
    with pytest.raises(FaceInputInvalid) as caught:
        await tencent_face.create_liveness_session("lip", name=NAME, id_number=ID)
    assert caught.value.code == "FACE_INPUT_INVALID"


def test_credentials_required() -> None:
    with pytest.raises(ValueError):
        TencentFaceVerifier("", "key", rule_id="1")
