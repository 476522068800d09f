"""Build the identity providers from plain settings (``os.environ`` or any ``Mapping[str, str]``).

Settings (all optional; defaults in brackets):

| Variable | Default | Meaning |
|---|---|---|
| `IDENTITY_PROVIDER` | `local` | two-/three-factor checks: `local` (DEMO) \\| `aliyun` (cloud market) \\| `insurer` (the insurer's own system) |
| `ENTERPRISE_PROVIDER` | `local` | enterprise checks: `local` (DEMO) \\| `aliyun` (cloud market) |
| `FACE_PROVIDER` | `local` | liveness + face comparison: `local` (DEMO) \\| `tencent` (Tencent Cloud FaceID) |
| `IDENTITY_TIMEOUT_SECONDS` | `5` | whole-request timeout of one identity/enterprise call |
| `IDENTITY_RETRY_ATTEMPTS` | `3` | attempts on retryable failures (timeouts, 5xx, throttling); 1 = no retry |
| `IDENTITY_RETRY_BASE_DELAY` | `0.2` | first backoff delay in seconds; doubles each retry, capped at 2 s |
| `ALIYUN_MARKET_APPCODE` | `` | AppCode of the purchased market APIs (header `Authorization: APPCODE ...`); required for `aliyun` |
| `ALIYUN_IDENTITY_URL` | `https://mobile3elements.shumaidata.com/mobile/verify_real_name` | three-factor (运营商三要素) endpoint |
| `ALIYUN_IDENTITY_2F_URL` | `https://eid.shumaidata.com/eid/check` | two-factor (身份证二要素) endpoint |
| `ENTERPRISE_VERIFY_URL` | see `providers/enterprise.py` | enterprise three-factor endpoint (market product bought) |
| `ENTERPRISE_MICROPAY_URL` | `` | base URL of the micro-payment partner (`/start`, `/check`); empty = not offered |
| `INSURER_IDENTITY_URL` | `` | the insurer's identity callback (JSON POST, `X-Signature`) for `insurer` |
| `INSURER_IDENTITY_SECRET` | `` | HMAC-SHA256 key signing requests to / answers from that URL |
| `INSURER_IDENTITY_PLUGIN` | `` | `package.module:ClassName` of an in-process `IdentityProvider`; wins over the URL |
| `INSURER_IDENTITY_PLUGIN_OPTIONS` | `{}` | JSON object of keyword arguments for the plug-in class |
| `FACE_LIVENESS_THRESHOLD` | `0.8` | minimum liveness score (0..1) for a face check to pass |
| `FACE_SIMILARITY_THRESHOLD` | `0.8` | minimum similarity (0..1) with the ID photo (Tencent Sim/100; 0.8 = 1/10000 false accepts) |
| `FACE_TIMEOUT_SECONDS` | `10` | whole-request timeout of one face-provider call (videos are large) |
| `TENCENT_SECRET_ID` | `` | Tencent Cloud API SecretId (TC3-HMAC-SHA256) for `tencent` |
| `TENCENT_SECRET_KEY` | `` | Tencent Cloud API SecretKey |
| `TENCENT_FACEID_RULE_ID` | `` | FaceID RuleId of the silent-liveness flow (also used for action if the next is empty) |
| `TENCENT_FACEID_ACTION_RULE_ID` | `` | FaceID RuleId of the action-liveness flow |
| `TENCENT_FACEID_ENDPOINT` | `https://faceid.tencentcloudapi.com` | API endpoint |
| `TENCENT_REGION` | `ap-guangzhou` | `X-TC-Region` |
| `FACE_DEMO_PAGE_URL` | `/demo/face` | where the DEMO face provider's session URLs point |

With ``ENV=production`` a ``local`` (DEMO) provider is refused. A bad value raises
``IdentityConfigError`` naming the variable, so start-up stops with a clear message.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from face_verify.api import EnterpriseProvider, FaceThresholds, FaceVerifier, IdentityProvider, RetryPolicy
from face_verify.local import LocalEnterpriseProvider, LocalFaceVerifier, LocalIdentityProvider
from face_verify.providers.aliyun_identity import THREE_FACTOR_URL, TWO_FACTOR_URL, AliyunMarketIdentity
from face_verify.providers.enterprise import ENTERPRISE_VERIFY_URL, AliyunMarketEnterprise
from face_verify.providers.insurer_callback import InsurerCallbackIdentity, PluginError, load_plugin
from face_verify.providers.tencent_face import ENDPOINT as TENCENT_ENDPOINT, TencentFaceVerifier

log = logging.getLogger("face_verify.config")
T = TypeVar("T")


class IdentityConfigError(ValueError):
    """A provider setting is missing or malformed; the message names the variable."""


@dataclasses.dataclass(frozen=True)
class Providers:
    identity: IdentityProvider
    enterprise: EnterpriseProvider
    face: FaceVerifier

    async def aclose(self) -> None:
        for provider in (self.identity, self.enterprise, self.face):
            await provider.aclose()


def build_providers(settings: Mapping[str, str] | None = None) -> Providers:
    """All three providers from ``settings`` (default: the process environment)."""
    env = os.environ if settings is None else settings
    return Providers(identity=build_identity_provider(env),
                     enterprise=build_enterprise_provider(env), face=build_face_verifier(env))


def build_identity_provider(env: Mapping[str, str]) -> IdentityProvider:
    kind = _choice(env, "IDENTITY_PROVIDER", ("local", "aliyun", "insurer"))
    if kind == "local":
        return _demo(env, "IDENTITY_PROVIDER", LocalIdentityProvider)
    timeout, retry = _number(env, "IDENTITY_TIMEOUT_SECONDS", 5.0), _retry(env)
    if kind == "aliyun":
        return AliyunMarketIdentity(_required(env, "ALIYUN_MARKET_APPCODE"),
                                    three_factor_url=env.get("ALIYUN_IDENTITY_URL") or THREE_FACTOR_URL,
                                    two_factor_url=env.get("ALIYUN_IDENTITY_2F_URL") or TWO_FACTOR_URL,
                                    timeout=timeout, retry=retry)
    if env.get("INSURER_IDENTITY_PLUGIN"):
        return _plugin(env)
    return InsurerCallbackIdentity(_required(env, "INSURER_IDENTITY_URL"),
                                   _required(env, "INSURER_IDENTITY_SECRET"),
                                   timeout=timeout, retry=retry)


def build_enterprise_provider(env: Mapping[str, str]) -> EnterpriseProvider:
    kind = _choice(env, "ENTERPRISE_PROVIDER", ("local", "aliyun"))
    if kind == "local":
        return _demo(env, "ENTERPRISE_PROVIDER", LocalEnterpriseProvider)
    return AliyunMarketEnterprise(_required(env, "ALIYUN_MARKET_APPCODE"),
                                  verify_url=env.get("ENTERPRISE_VERIFY_URL") or ENTERPRISE_VERIFY_URL,
                                  micropay_url=env.get("ENTERPRISE_MICROPAY_URL", ""),
                                  timeout=_number(env, "IDENTITY_TIMEOUT_SECONDS", 5.0),
                                  retry=_retry(env))


def build_face_verifier(env: Mapping[str, str]) -> FaceVerifier:
    kind = _choice(env, "FACE_PROVIDER", ("local", "tencent"))
    thresholds = _thresholds(env)
    if kind == "local":
        return _demo(env, "FACE_PROVIDER", lambda: LocalFaceVerifier(
            thresholds, page_url=env.get("FACE_DEMO_PAGE_URL") or "/demo/face"))
    return TencentFaceVerifier(
        _required(env, "TENCENT_SECRET_ID"), _required(env, "TENCENT_SECRET_KEY"),
        rule_id=_required(env, "TENCENT_FACEID_RULE_ID"),
        action_rule_id=env.get("TENCENT_FACEID_ACTION_RULE_ID", ""),
        endpoint=env.get("TENCENT_FACEID_ENDPOINT") or TENCENT_ENDPOINT,
        region=env.get("TENCENT_REGION") or "ap-guangzhou", thresholds=thresholds,
        timeout=_number(env, "FACE_TIMEOUT_SECONDS", 10.0), retry=_retry(env))


# --------------------------------------------------------------------------------------------
# Parsing helpers: each error names its variable
# --------------------------------------------------------------------------------------------


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = (env.get(name) or allowed[0]).strip().lower()
    if value not in allowed:
        raise IdentityConfigError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _required(env: Mapping[str, str], name: str) -> str:
    value = (env.get(name) or "").strip()
    if not value:
        raise IdentityConfigError(f"{name} is required by the configured provider")
    return value


def _number(env: Mapping[str, str], name: str, default: float, low: float = 0.0,
            high: float = 3600.0) -> float:
    raw = env.get(name)
    try:
        value = default if raw in (None, "") else float(raw)
    except ValueError:
        raise IdentityConfigError(f"{name} must be a number, not {raw!r}") from None
    if not low <= value <= high:
        raise IdentityConfigError(f"{name} must be within {low}..{high}, not {value}")
    return value


def _retry(env: Mapping[str, str]) -> RetryPolicy:
    attempts = _number(env, "IDENTITY_RETRY_ATTEMPTS", 3, low=1, high=10)
    if attempts != int(attempts):
        raise IdentityConfigError(f"IDENTITY_RETRY_ATTEMPTS must be a whole number, not {attempts}")
    return RetryPolicy(attempts=int(attempts),
                       base_delay=_number(env, "IDENTITY_RETRY_BASE_DELAY", 0.2, high=30))


def _thresholds(env: Mapping[str, str]) -> FaceThresholds:
    return FaceThresholds(liveness=_number(env, "FACE_LIVENESS_THRESHOLD", 0.8, high=1.0),
                          similarity=_number(env, "FACE_SIMILARITY_THRESHOLD", 0.8, high=1.0))


def _demo(env: Mapping[str, str], name: str, factory: Callable[[], T]) -> T:
    if (env.get("ENV") or "").strip().lower() == "production":
        raise IdentityConfigError(f"{name}=local is a DEMO provider and is refused in production")
    log.warning("%s=local: DEMO provider, answers are not real identity checks", name)
    return factory()


def _plugin(env: Mapping[str, str]) -> IdentityProvider:
    raw = env.get("INSURER_IDENTITY_PLUGIN_OPTIONS") or "{}"
    try:
        options: Any = json.loads(raw)
    except ValueError:
        options = None
    if not isinstance(options, dict):
        raise IdentityConfigError("INSURER_IDENTITY_PLUGIN_OPTIONS must be a JSON object")
    try:
        return load_plugin(env["INSURER_IDENTITY_PLUGIN"], **options)
    except PluginError as exc:
        raise IdentityConfigError(str(exc)) from None
