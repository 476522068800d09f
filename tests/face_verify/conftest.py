"""Fixtures: fake provider servers (session-wide, reset per test) and adapters pointed at them.

Adapters use short timeouts and backoff delays so the timeout and retry tests stay fast.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from face_verify.api import FaceThresholds, RetryPolicy
from face_verify.providers.aliyun_identity import AliyunMarketIdentity
from face_verify.providers.enterprise import AliyunMarketEnterprise
from face_verify.providers.insurer_callback import InsurerCallbackIdentity
from face_verify.providers.tencent_face import TencentFaceVerifier
from tests.fakes.identity_servers import FakeAliyunMarket, FakeInsurerIdentity, FakeTencentFaceID

CLIENT_TIMEOUT = 0.3     # the fakes' "timeout" scenario sleeps 1.5 s
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.05, factor=2.0, max_delay=1.0, jitter=0.0)


@pytest.fixture(scope="session")
def _aliyun_server() -> Iterator[FakeAliyunMarket]:
    server = FakeAliyunMarket()
    yield server
    server.close()


@pytest.fixture(scope="session")
def _tencent_server() -> Iterator[FakeTencentFaceID]:
    server = FakeTencentFaceID()
    yield server
    server.close()


@pytest.fixture(scope="session")
def _insurer_server() -> Iterator[FakeInsurerIdentity]:
    server = FakeInsurerIdentity()
    yield server
    server.close()


@pytest.fixture
def aliyun_fake(_aliyun_server: FakeAliyunMarket) -> FakeAliyunMarket:
    """The fake Aliyun market gateway, scenario ``match``, empty request log."""
    _aliyun_server.reset()
    return _aliyun_server


@pytest.fixture
def tencent_fake(_tencent_server: FakeTencentFaceID) -> FakeTencentFaceID:
    """The fake Tencent FaceID API, scenario ``pass`` (Sim 95.5), empty request log."""
    _tencent_server.reset()
    _tencent_server.sim = 95.5
    return _tencent_server


@pytest.fixture
def insurer_fake(_insurer_server: FakeInsurerIdentity) -> FakeInsurerIdentity:
    """The fake insurer identity system, scenario ``match``, empty request log."""
    _insurer_server.reset()
    return _insurer_server


@pytest.fixture
async def aliyun_identity(aliyun_fake: FakeAliyunMarket) -> AsyncIterator[AliyunMarketIdentity]:
    provider = AliyunMarketIdentity(
        aliyun_fake.appcode, three_factor_url=aliyun_fake.url + "/mobile/verify_real_name",
        two_factor_url=aliyun_fake.url + "/eid/check", timeout=CLIENT_TIMEOUT, retry=FAST_RETRY)
    yield provider
    await provider.aclose()


@pytest.fixture
async def aliyun_enterprise(aliyun_fake: FakeAliyunMarket) -> AsyncIterator[AliyunMarketEnterprise]:
    provider = AliyunMarketEnterprise(
        aliyun_fake.appcode, verify_url=aliyun_fake.url + "/enterprise/verify",
        micropay_url=aliyun_fake.url + "/micropay", timeout=CLIENT_TIMEOUT, retry=FAST_RETRY)
    yield provider
    await provider.aclose()


@pytest.fixture
async def tencent_face(tencent_fake: FakeTencentFaceID) -> AsyncIterator[TencentFaceVerifier]:
    verifier = TencentFaceVerifier(
        tencent_fake.secret_id, tencent_fake.secret_key, rule_id="1", action_rule_id="2",
        endpoint=tencent_fake.url, thresholds=FaceThresholds(liveness=0.8, similarity=0.8),
        timeout=CLIENT_TIMEOUT, retry=FAST_RETRY)
    yield verifier
    await verifier.aclose()


@pytest.fixture
async def insurer_identity(insurer_fake: FakeInsurerIdentity) -> AsyncIterator[InsurerCallbackIdentity]:
    provider = InsurerCallbackIdentity(insurer_fake.endpoint, insurer_fake.secret,
                                       timeout=CLIENT_TIMEOUT, retry=FAST_RETRY)
    yield provider
    await provider.aclose()
