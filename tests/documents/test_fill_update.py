"""Filling as an incremental update of the template (``documents.fill_update``): the template's
bytes stay in front untouched, the result renders exactly like the rewritten file, other pages
sharing resources are unaffected, and templates the writer should not append to are rewritten."""
from __future__ import annotations

import io

import pikepdf
import pytest
from PIL import ImageChops

from documents.fill import TemplateFiller
from documents.fill_update import TemplateBase
from documents.template import FieldDef, TemplateDef

from .doc_testkit import CODES, load_template, pdftotext, render, squash


def _both(code: str) -> tuple[bytes, bytes, bytes]:
    """(template, filled by appending, filled by rewriting) for a shipped template."""
    pdf, tpl, sample = load_template(code)
    filler = TemplateFiller(pdf, tpl)
    assert filler.base is not None, code
    appended = filler.fill(sample)
    filler.base = None
    return pdf, appended, filler.fill(sample)


@pytest.mark.parametrize("code", CODES)
def test_filled_by_appending_renders_exactly_like_the_rewrite(code):
    pdf, appended, rewritten = _both(code)
    assert appended.startswith(pdf)  # an incremental update: the template's bytes untouched
    with pikepdf.open(io.BytesIO(appended)) as doc:
        assert not doc.get_warnings()
        pages = len(doc.pages)
    for page in range(1, pages + 1):
        a, b = render(appended, 40, page), render(rewritten, 40, page)
        assert ImageChops.difference(a, b).getbbox() is None, (code, page)
    assert squash(pdftotext(appended)) == squash(pdftotext(rewritten))


def test_a_page_sharing_resources_with_another_keeps_them_private():
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    shared = pdf.make_indirect(pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)))
    for text in (b"first", b"second"):
        page = pdf.add_blank_page(page_size=(595, 842))
        page.obj.Resources = shared
        page.obj.Contents = pdf.make_stream(b"BT /F1 12 Tf 72 700 Td (" + text + b") Tj ET")
    buf = io.BytesIO()
    pdf.save(buf)
    tpl = TemplateDef(code="two", title="two pages", fields=(
        FieldDef(name="who", label="姓名", type="text", page=1, rect=(72.0, 600.0, 200.0, 20.0)),))
    filled = TemplateFiller(buf.getvalue(), tpl).fill({"who": "张伟"})
    with pikepdf.open(io.BytesIO(filled)) as doc:
        one, two = doc.pages
        assert set(one.Resources.Font.keys()) == {"/F1", "/FillCJK"}
        assert set(two.Resources.Font.keys()) == {"/F1"}  # the other page is untouched
    text = squash(pdftotext(filled))
    assert "first" in text and "second" in text and "张伟" in text


def test_a_template_qpdf_must_repair_is_rewritten_not_appended_to():
    pdf, tpl, sample = load_template("e_policy")
    broken = _with_wrong_xref_offsets(pdf)
    assert TemplateBase.build(broken, {1}) is None
    filler = TemplateFiller(broken, tpl)
    assert filler.base is None
    filled = filler.fill(sample)
    with pikepdf.open(io.BytesIO(filled)) as doc:  # a clean, rewritten file
        assert not doc.get_warnings()
    assert sample["holder_name"] in pdftotext(filled)


def _with_wrong_xref_offsets(pdf: bytes) -> bytes:
    """The same file with every object shifted by a comment after the header: readers (qpdf)
    repair the offsets; appending after such a file would keep them wrong."""
    header_end = pdf.index(b"\n") + 1
    return pdf[:header_end] + b"%" + b"x" * 40 + b"\n" + pdf[header_end:]
