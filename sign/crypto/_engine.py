"""Engine selection shared by the SM2/SM3/SM4 modules.

``tongsuo`` (tongsuopy, C, fast) is the default; ``gmssl`` (pure Python, slow) is used when
tongsuopy cannot be imported or when the environment variable ``SIGN_CRYPTO_ENGINE=gmssl``.
Every public entry point also takes an optional ``engine=`` keyword so both engines can be
exercised side by side (tests, cross-checks).
"""
from __future__ import annotations

import os

TONGSUO = "tongsuo"
GMSSL = "gmssl"
ENGINES = (TONGSUO, GMSSL)

try:  # pragma: no cover - depends on the installation
    import tongsuopy  # noqa: F401

    TONGSUO_AVAILABLE = True
except Exception:  # pragma: no cover
    TONGSUO_AVAILABLE = False


def _default_engine() -> str:
    wanted = os.environ.get("SIGN_CRYPTO_ENGINE", "").strip().lower()
    if wanted in ("gmssl", "python", "pure"):
        return GMSSL
    return TONGSUO if TONGSUO_AVAILABLE else GMSSL


DEFAULT_ENGINE: str = _default_engine()


def available_engines() -> tuple[str, ...]:
    """Engines usable in this process (gmssl is a hard requirement, tongsuo is optional)."""
    return ENGINES if TONGSUO_AVAILABLE else (GMSSL,)


def resolve(engine: str | None) -> str:
    """Map ``None`` to the default engine and validate an explicit choice."""
    if engine is None:
        return DEFAULT_ENGINE
    if engine not in ENGINES:
        raise ValueError(f"unknown crypto engine {engine!r}; expected one of {ENGINES}")
    if engine == TONGSUO and not TONGSUO_AVAILABLE:
        raise ValueError("engine 'tongsuo' requested but tongsuopy is not importable")
    return engine
