"""Fixtures of the LTV tests (helpers in ltv_testkit.py)."""
from __future__ import annotations

import pytest

from .ltv_testkit import Pki, make_pki


@pytest.fixture(scope="session")
def rsa_pki() -> Pki:
    return make_pki("rsa2048")


@pytest.fixture(scope="session")
def sm2_pki() -> Pki:
    pytest.importorskip("sign.crypto.sm2")
    return make_pki("sm2")
