"""Real-world PDFs (../shared/corpus/pdf-attacker): already-signed files, several incremental
updates, hand-edited xref offsets. Our signature is appended and verifies; earlier bytes kept."""
from __future__ import annotations

import pytest

from sign.pdf import sign_pdf
from sign.specs import SignatureSpec

from .pdf_testkit import pdfsig_validations, pyhanko_status


def _corpus_pdfs(corpus_dir):
    files = sorted((corpus_dir / "pdf-attacker").rglob("*.pdf"))
    if not files:
        pytest.skip("no PDFs in the corpus")
    return files


def test_sign_every_corpus_pdf(corpus_dir, tmp_path, rsa_signer, rsa_identity):
    checked_pyhanko = 0
    for n, src in enumerate(_corpus_pdfs(corpus_dir)):
        out = tmp_path / f"{n}.pdf"
        sign_pdf(src, out, rsa_signer, SignatureSpec(field_name="OurSignature"))
        assert out.read_bytes().startswith(src.read_bytes()), src
        assert pdfsig_validations(out)[-1] == "Signature is Valid.", src
        if not src.name.startswith("4_"):  # pyHanko cannot parse some manipulated files
            [(_, st)] = pyhanko_status(out, [rsa_identity.root], fields=["OurSignature"])
            assert st.intact and st.valid, src
            checked_pyhanko += 1
    assert checked_pyhanko >= 10
