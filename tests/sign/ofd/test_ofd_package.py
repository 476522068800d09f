"""Reading OFD packages: structure, and clear errors on malformed input."""
from __future__ import annotations

import io
import zipfile

import pytest

from sign.ofd import OfdError, read_ofd
from sign.ofd.package import Limits
from sign.ofd.verify import verify_ofd

from .ofd_testkit import entries, policy_ofd, rezip

CORPUS_FILES = ["SESV4SignDoc.ofd", "signedFile.ofd", "v4signed.ofd", "allprotected.ofd", "DigitalSign.ofd",
                "helloworld.ofd", "keyword.ofd"]


def _code(data: bytes, **kw) -> str:
    with pytest.raises(OfdError) as info:
        read_ofd(data, **kw)
    return info.value.code


def test_generated_structure():
    pkg = read_ofd(policy_ofd(pages=2))
    doc = pkg.document
    assert doc.path == "Doc_0/Document.xml"
    assert [p.path for p in doc.pages] == ["Doc_0/Pages/Page_0/Content.xml", "Doc_0/Pages/Page_1/Content.xml"]
    assert doc.page_box == (0.0, 0.0, 210.0, 297.0)
    assert doc.max_unit_id >= 10
    assert [f.file for f in doc.fonts.values()] == ["Doc_0/Res/font_1.ttf"]
    assert all(m.format == "PNG" and m.file in pkg.files for m in doc.media.values())
    assert doc.signatures_path is None
    root = pkg.xml("OFD.xml")
    assert root.tag == "{http://www.ofdspec.org/2016}OFD"


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_corpus_parses(corpus_dir, name):
    pkg = read_ofd((corpus_dir / "ofdrw" / name).read_bytes())
    assert pkg.document.pages
    for page in pkg.document.pages:
        assert page.path in pkg.files


def test_not_a_zip():
    assert _code(b"%PDF-1.7 not an ofd") == "not_zip"
    assert _code(policy_ofd()[:300]) == "not_zip"  # truncated


def test_missing_parts():
    files = entries(policy_ofd())
    assert _code(rezip({k: v for k, v in files.items() if k != "OFD.xml"})) == "missing_part"
    assert _code(rezip({k: v for k, v in files.items() if k != "Doc_0/Document.xml"})) == "missing_part"
    assert _code(rezip({k: v for k, v in files.items() if k != "Doc_0/Pages/Page_0/Content.xml"})) == "missing_part"


def test_bad_xml_and_dtd():
    files = entries(policy_ofd())
    assert _code(rezip({**files, "Doc_0/Document.xml": b"<ofd:Document xmlns:ofd='x'><unclosed>"})) == "bad_xml"
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
            b"<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'>&lol2;</ofd:OFD>")
    assert _code(rezip({**files, "OFD.xml": bomb})) == "bad_xml"


def test_bad_structure():
    files = entries(policy_ofd())
    no_root = b"<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'><ofd:DocBody/></ofd:OFD>"
    assert _code(rezip({**files, "OFD.xml": no_root})) == "bad_structure"
    wrong = b"<html/>"
    assert _code(rezip({**files, "OFD.xml": wrong})) == "bad_structure"


@pytest.mark.parametrize("name", ["../evil.xml", "/etc/passwd", "Doc_0\\..\\x.xml", "a/../../b.xml"])
def test_path_traversal(name):
    data = rezip(entries(policy_ofd()), extra=[(name, b"x")])
    assert _code(data) == "unsafe_path"


def test_location_escaping_the_package():
    files = entries(policy_ofd())
    ofd = files["OFD.xml"].replace(b"Doc_0/Document.xml", b"../../Doc_0/Document.xml")
    assert _code(rezip({**files, "OFD.xml": ofd})) == "unsafe_path"


def test_duplicate_entry():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in entries(policy_ofd()).items():
            zf.writestr(name, content)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            zf.writestr("OFD.xml", b"<x/>")
    assert _code(buf.getvalue()) == "duplicate_entry"


def test_zip_bomb_and_limits():
    big = b"\0" * (3 << 20)  # 3 MiB of zeros compresses ~1000:1
    data = rezip(entries(policy_ofd()), extra=[("Doc_0/Res/bomb.bin", big)])
    assert _code(data) == "zip_bomb"
    assert _code(policy_ofd(), limits=Limits(max_entry_bytes=1000)) == "zip_too_large"
    assert _code(policy_ofd(), limits=Limits(max_entries=3)) == "too_many_files"
    assert _code(policy_ofd(), limits=Limits(max_total_bytes=2000)) == "zip_too_large"
    assert _code(policy_ofd(), limits=Limits(max_archive_bytes=100)) == "zip_too_large"


@pytest.mark.parametrize("data", [b"", b"PK\x03\x04garbage", b"\x00" * 100])
def test_verify_never_raises(data):
    report = verify_ofd(data)
    assert not report.readable and not report.valid and report.error is not None
