"""Real shadow-attack files (RUB-NDS pdf-attacker): 3_ signed = valid, 4_ manipulated = not allowed.

Trust: the signer certificate embedded in each signed PDF (the README's instruction).
"""
from __future__ import annotations

import pathlib

import pikepdf
import pytest

from verify_testkit import corpus_files

from sign.verification.cms import certificates_of, load_signed_data
from sign.verify import verify


def _embedded_certs(path: pathlib.Path) -> list:
    with pikepdf.open(path) as pdf:
        for field in pdf.Root.AcroForm.Fields:
            if field.get("/FT") == "/Sig" and field.get("/V") is not None:
                return list(certificates_of(load_signed_data(bytes(field.V.Contents))))
    raise AssertionError("no signature")


def _ids(paths: list[pathlib.Path]) -> list[str]:
    return ["/".join(p.parts[-3:]) for p in paths]


@pytest.fixture(scope="module")
def signed_files(corpus_dir) -> list[pathlib.Path]:
    return corpus_files(corpus_dir, "3")


@pytest.fixture(scope="module")
def manipulated_files(corpus_dir) -> list[pathlib.Path]:
    return corpus_files(corpus_dir, "4")


def test_corpus_has_the_expected_files(signed_files, manipulated_files):
    assert len(signed_files) == 7 and len(manipulated_files) == 8


def test_every_signed_file_is_valid_and_unmodified(signed_files):
    for path in signed_files:
        report = verify(path, trust=_embedded_certs(path))
        (sig,) = report.signatures
        assert report.valid, (path, report.to_dict())
        assert sig.covers_whole_file and sig.changes_after == ()
        assert sig.trust.trusted and sig.intact and sig.crypto_valid


def test_every_manipulated_file_is_reported_modified_with_a_reason(manipulated_files):
    for path in manipulated_files:
        report = verify(path, trust=_embedded_certs(path))
        (sig,) = report.signatures
        assert not report.valid, path
        # the signed revision itself is intact: the *later* update is what is not allowed
        assert sig.intact and sig.crypto_valid and sig.trust.trusted, path
        assert not sig.covers_whole_file and sig.revisions_after == 1
        assert sig.modified_after_signing and sig.disallowed_changes, path
        assert all(c.description for c in sig.disallowed_changes)


EXPECTED = {  # one change kind each file must report (what changed)
    "variant-1_change_object_references/4_original-document-shadowed-signed-manipulated.pdf":
        "PAGE_CONTENT_CHANGED",
    "variant-2_change_objects_usage/4_original-document-shadowed-signed-manipulated.pdf":
        "ANNOTATION_ADDED",
    "variant-1_hide-via-referenced-object/4_original-document-shadowed-signed-manipulated_v1.pdf":
        "XREF_SUBSTITUTION",
    "variant-1_hide-via-referenced-object/4_original-document-shadowed-signed-manipulated_v2.pdf":
        "XREF_SUBSTITUTION",
    "hide-form-via-form/4_original-document-shadowed-signed-manipulated.pdf": "FIELD_VALUE_CHANGED",
    "hide-text-via-form/4_original-document-shadowed-signed-manipulated.pdf": "ANNOTATION_CHANGED",
    "variant-1_replace-via-overlay/4_original-document-shadowed-signed-manipulated.pdf":
        "FIELD_APPEARANCE_CHANGED",
    "variant-2_replace-via-overwrite/4_original-document-shadowed-signed-manipulated.pdf":
        "PAGE_RESOURCES_CHANGED",
}


def test_each_manipulation_is_named(manipulated_files):
    seen = {}
    for path in manipulated_files:
        key = "/".join(path.parts[-2:])
        (sig,) = verify(path).signatures
        seen[key] = {c.kind for c in sig.disallowed_changes}
    assert set(seen) == set(EXPECTED)
    for key, kind in EXPECTED.items():
        assert kind in seen[key], (key, seen[key])


def test_untrusted_when_trusting_nothing_relevant(signed_files, rsa_root):
    report = verify(signed_files[0], trust=[rsa_root])
    (sig,) = report.signatures
    assert not report.valid and not sig.trust.trusted
    assert "UNTRUSTED_ROOT" in {p.code for p in sig.trust.errors}
