"""Fixtures of the PDF signing tests (helpers live in pdf_testkit.py)."""
from __future__ import annotations

import pathlib

import pytest

from sign.signers import SoftwareSigner

from .pdf_testkit import make_pdf, seal_png


@pytest.fixture(scope="session")
def rsa_signer(rsa_identity) -> SoftwareSigner:
    return SoftwareSigner.from_pem(rsa_identity.key_pem, rsa_identity.cert_pem, rsa_identity.chain_pem)


@pytest.fixture(scope="session")
def sm2_signer(sm2_identity) -> SoftwareSigner:
    return SoftwareSigner.from_pem(sm2_identity.key_pem, sm2_identity.cert_pem, sm2_identity.chain_pem)


@pytest.fixture(scope="session")
def png_seal() -> bytes:
    return seal_png()


@pytest.fixture()
def simple_pdf(tmp_path) -> pathlib.Path:
    p = tmp_path / "in.pdf"
    make_pdf(p, [[(72, 760, "Policy 2026-0001"), (72, 700, "Signature:")]])
    return p
