"""Fixtures for sign.crypto tests: parametrize over every available engine."""
from __future__ import annotations

import pytest

from sign.crypto import _engine


@pytest.fixture(params=_engine.available_engines())
def engine(request) -> str:
    return request.param
