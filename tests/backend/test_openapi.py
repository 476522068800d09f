"""The OpenAPI document served at /docs matches the committed docs/openapi.json."""
from __future__ import annotations

import json

import httpx

from tests.conftest import ROOT

COMMITTED = ROOT / "docs" / "openapi.json"


def test_served_spec_matches_the_committed_one(server):
    served = httpx.get(f"{server}/docs/openapi.json").json()
    assert COMMITTED.exists(), "run: python -m backend.openapi > docs/openapi.json"
    assert served == json.loads(COMMITTED.read_text()), \
        "API changed: regenerate with python -m backend.openapi > docs/openapi.json"


def test_every_route_is_documented(server):
    paths = httpx.get(f"{server}/docs/openapi.json").json()["paths"]
    for expected in ("/healthz", "/readyz", "/api/v1/whoami", "/api/v1/callbacks",
                     "/api/v1/callbacks/{endpoint_id}"):
        assert expected in paths, expected


def test_docs_page_is_served(server):
    assert httpx.get(f"{server}/docs").status_code == 200
