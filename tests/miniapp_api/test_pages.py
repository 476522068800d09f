"""Pages rendered for the phone viewer, including Chinese text from the shipped templates."""
from __future__ import annotations

import io
import pathlib

import pytest
from PIL import Image

from miniapp_api.pages import DocumentUnreadable, PageOutOfRange, page_count, render_page

TEMPLATES = pathlib.Path(__file__).resolve().parents[2] / "templates"


def test_a_template_page_renders_phone_wide_and_not_blank():
    pdf = (TEMPLATES / "e_policy.pdf").read_bytes()
    assert page_count(pdf) >= 1
    image = Image.open(io.BytesIO(render_page(pdf, 1)))
    assert image.width == 1080 and image.height > image.width
    dark = sum(1 for px in image.convert("L").getdata() if px < 128)
    assert dark > 1000  # text was drawn


def test_bad_pages_and_documents_are_clear_errors():
    pdf = (TEMPLATES / "e_policy.pdf").read_bytes()
    with pytest.raises(PageOutOfRange):
        render_page(pdf, 99)
    with pytest.raises(DocumentUnreadable):
        render_page(b"not a pdf", 1)
