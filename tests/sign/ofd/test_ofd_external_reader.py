"""An independent reader of the OFDs we generate and sign: easyofd (PyPI, pinned 20260427).

easyofd parses the package with its own XML code (xmltodict), extracts the seal picture from
our SignedValue.dat with its own ASN.1 decoder (pyasn1) and draws the document to PDF with
reportlab. Its text drawing hard-codes the font "宋体" (absent here, it falls back to Helvetica),
so its PDF is checked for structure and the seal image, not for text.
"""
from __future__ import annotations

import base64
import io
import logging

import pikepdf
import pytest

from sign.ofd import StampPlacement, sign_ofd
from sign.seals import make_seal

from .ofd_testkit import KEYWORD, entries, policy_ofd, seal_png

easyofd = pytest.importorskip("easyofd", reason="easyofd (external OFD reader) not installed")


@pytest.fixture(scope="module")
def signed(ca, sm2_identity):
    seal = make_seal(name="测试章", picture=seal_png(), maker=ca.sm2.issuing.identity(),
                     signer_certs=[sm2_identity.cert])
    return sign_ofd(policy_ofd(pages=2), sm2_identity, seal, StampPlacement(keyword=KEYWORD))


@pytest.fixture(autouse=True)
def _quiet():
    from loguru import logger
    logger.disable("easyofd")
    logging.getLogger().setLevel(logging.ERROR)
    yield
    logger.enable("easyofd")


def _read(data: bytes):
    from easyofd.ofd import OFD

    reader = OFD()
    reader.read(data, fmt="binary")
    return reader


def test_easyofd_reads_generated_and_signed(signed):
    reader = _read(signed.data)
    (doc,) = reader.data
    assert doc["page_size"] == [[0.0, 0.0, 210.0, 297.0]] * 2
    texts = [t["text"] for page in doc["page_info"].values() for t in page["text_list"]]
    assert "电子保单 第1页" in texts and f"{KEYWORD}：" in texts
    assert all(len(page["img_list"]) == 1 for page in doc["page_info"].values())
    assert [f["FontFile"] for f in doc["fonts"].values()] == ["font_1.ttf"]
    # the signature: on the keyword's page (2nd), with our StampAnnot box and SignedValue
    sigs = [s for page_sigs in doc["signatures_page_id"].values() for s in page_sigs]
    assert len(sigs) == 1
    stamp = signed.stamps[0]
    assert sigs[0]["sing_page_no"] == 1
    assert [float(v) for v in sigs[0]["Boundary"].split()] == pytest.approx(list(stamp.box))
    assert base64.b64decode(sigs[0]["SignedValue"]) == entries(signed.data)["Doc_0/Signs/Sign_0/SignedValue.dat"]


def test_easyofd_extracts_our_seal_picture(signed):
    from easyofd.draw.find_seal_img import SealExtract

    value = entries(signed.data)["Doc_0/Signs/Sign_0/SignedValue.dat"]
    images = SealExtract()(b64=base64.b64encode(value).decode())
    assert images, "easyofd found no seal picture in our SES_Signature"
    from PIL import Image
    ours = Image.open(io.BytesIO(seal_png()))
    assert images[0].size == ours.size


def test_easyofd_converts_to_pdf(signed):
    pdf_bytes = _read(signed.data).to_pdf()
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        assert len(pdf.pages) == 2
