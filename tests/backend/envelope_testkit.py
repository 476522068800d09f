"""Helpers of the signing-flow tests: the client-side walk-through of ``backend.flows_client``
plus a few assertions of the tests' own."""
from __future__ import annotations

import os
import subprocess
import sys

from backend.flows_client import (ADMIN, PASSWORD, approver, company, id_number,  # noqa: F401
                                  make_seal, person, set_password, sign_as, signer_of, strokes)
from backend.flows_client import signer_path as path  # noqa: F401
from tests.backend.files_testkit import OP
from tests.conftest import ROOT


def start_worker(env: dict[str, str], log_path) -> subprocess.Popen:
    """A job worker process (``python -m backend.jobs worker``) with ``env``."""
    return subprocess.Popen([sys.executable, "-m", "backend.jobs", "worker", "--concurrency", "2"],
                            cwd=ROOT, env={**os.environ, **env}, stdout=open(log_path, "ab"),
                            stderr=subprocess.STDOUT)


def create(api, body: dict, expect: int = 201, headers: dict | None = None) -> dict:
    response = api.post("/api/v1/envelopes", body, headers=headers or OP)
    assert response.status_code == expect, response.text
    return response.json()


def document(api, envelope: dict) -> bytes:
    response = api.get(f"/api/v1/envelopes/{envelope['id']}/document")
    assert response.status_code == 200, response.text
    return response.content
