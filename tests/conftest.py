"""Shared fixtures for the whole suite.

Fixtures for the web app, database and cache live in ``tests/backend/conftest.py`` sections below;
fixtures for the pure ``sign`` library need no services.
"""
from __future__ import annotations

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus_dir() -> pathlib.Path:
    """The external test corpus (../shared/corpus); skips where it is absent (a user's machine)."""
    if not CORPUS.is_dir():
        pytest.skip(f"external corpus not found at {CORPUS} (../shared/corpus)")
    return CORPUS
