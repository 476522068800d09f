"""Real signed PDFs from the external corpus (../shared/corpus; skipped where absent): derived
copies never crash, comparison shows what a shadow attack changed."""
from __future__ import annotations

from documents.compare import compare
from documents.desensitise import desensitise
from documents.print_copy import make_print_copy, qr_matrix, read_qr_matrix

from .doc_testkit import pdftotext


def test_derived_copies_of_real_signed_pdfs(corpus_dir):
    files = sorted((corpus_dir / "pdf-attacker").rglob("*.pdf"))
    assert len(files) >= 20
    signed = 0
    for path in files:
        data = path.read_bytes()
        copy = desensitise(data)
        signed += bool(copy.seals)
        assert "脱敏副本" in pdftotext(copy.pdf).replace(" ", "")
        pc = make_print_copy(data, base_url="https://esign.example.com", key=b"k" * 32)
        assert read_qr_matrix(pc.pdf)[1] == qr_matrix(pc.url)
    assert signed >= 10


def test_compare_shows_shadow_attack_changes(corpus_dir):
    base = corpus_dir / "pdf-attacker/shadow-demo-exploits"
    d = base / "replace/variant-1_replace-via-overlay"
    ops = compare(next(d.glob("3_*.pdf")).read_bytes(), next(d.glob("4_*.pdf")).read_bytes()).to_json()
    assert ("replace", "World Health Organisation", "Attacker") in [(o["op"], o["old"], o["new"]) for o in ops]
    d = base / "hide-and-replace/variant-2_change_objects_usage"
    ops = compare(next(d.glob("3_*.pdf")).read_bytes(), next(d.glob("4_*.pdf")).read_bytes()).to_json()
    assert ("replace", "1000 USD", "You are fired") in [(o["op"], o["old"], o["new"]) for o in ops]
