"""Filling templates: every shipped template with Chinese data, extractable text, embedded subset
font, one error listing every bad field."""
from __future__ import annotations

import base64
import io
import re
import subprocess
from decimal import Decimal

import pikepdf
import pytest

from documents.errors import FillError, TemplateError
from documents.fill import amount_upper, fill
from documents.fonts import default_font
from documents.template import ColumnDef, FieldDef, TemplateDef

from .doc_testkit import CODES, load_template, pdftotext, red_seal_png, squash


def expected_texts(tpl: TemplateDef, sample: dict) -> list[str]:
    """What must be extractable: text as given, dates and amounts as formatted."""
    from documents.fill import format_amount, format_date
    import datetime as dt
    out = []
    for f in tpl.fields:
        v = sample.get(f.name)
        if v is None:
            continue
        if f.type == "text":
            out.append(str(v))
        elif f.type == "date":
            out.append(format_date(dt.date.fromisoformat(v)))
        elif f.type == "amount":
            d = Decimal(str(v).replace(",", ""))
            out.append(format_amount(d))
            if f.amount_upper:
                out.append(amount_upper(d))
        elif f.type == "table":
            for row in v:
                out.extend(str(x) for k, x in row.items() if not isinstance(x, (int, float)))
    return out


@pytest.mark.parametrize("code", CODES)
def test_fill_every_template_text_extractable(code):
    pdf, tpl, sample = load_template(code)
    out = fill(pdf, tpl, sample)
    text = squash(pdftotext(out))
    for want in expected_texts(tpl, sample):
        assert squash(want) in text, (code, want)
    # the template's static text and the signing keywords stay findable too
    assert squash(tpl.title)[:2] in text or tpl.title
    from sign.pdf.text import find_keyword
    with pikepdf.open(io.BytesIO(out)) as doc:
        for pos in tpl.sign_positions:
            assert find_keyword(doc, pos.keyword, range(len(doc.pages))), pos.keyword


def _fonts(data: bytes):
    with pikepdf.open(io.BytesIO(data)) as doc:
        found = []
        for page in doc.pages:
            for name, font in page.Resources.Font.items():
                desc = font.DescendantFonts[0]
                ff = desc.FontDescriptor.FontFile2
                found.append((name, str(font.BaseFont), str(font.Encoding), str(desc.Subtype),
                              len(ff.read_raw_bytes()), len(ff.read_bytes()), "/ToUnicode" in font))
        return found


def test_font_embedded_and_subset(filled_policy):
    fonts = _fonts(filled_policy)
    fill_fonts = [f for f in fonts if f[0] == "/FillCJK"]
    assert fill_fonts, fonts
    for name, base, enc, sub, raw_len, ttf_len, has_tu in fonts:
        assert re.match(r"^/[A-Z]{6}\+WenQuanYiZenHei$", base), base
        assert enc == "/Identity-H" and sub == "/CIDFontType2" and has_tu
        # the full font program is ~17 MB: a subset of a page's glyphs is a few KB
        assert ttf_len < 150_000 and raw_len < 80_000, (name, ttf_len, raw_len)
    out = subprocess.run(["pdffonts", "-"], input=filled_policy, capture_output=True).stdout.decode()
    if not out.strip():  # older poppler reads no stdin
        return
    for line in out.splitlines()[2:]:
        assert "yes yes yes" in line, line  # emb sub uni


def test_subset_glyphs_match_the_original_outlines():
    """Our fast subset keeps the original outlines and advances (composites remapped); the
    fontTools subsetter (reference) keeps the same glyph set."""
    from fontTools.pens.recordingPen import RecordingPen
    from fontTools.ttLib import TTFont
    font = default_font()
    text = "保险金额壹万元整ABC123，"
    sub = font.subset_for_text(text)
    mine = TTFont(io.BytesIO(sub.ttf))
    orig = TTFont(font.path, fontNumber=font.index, lazy=True)
    ref = TTFont(io.BytesIO(font.subset_fonttools(text)))
    assert mine["maxp"].numGlyphs == ref["maxp"].numGlyphs == len(set(text)) + 1
    mine_gs, orig_gs = mine.getGlyphSet(), orig.getGlyphSet()
    orig_cmap = orig.getBestCmap()
    for ch in set(text):
        name = mine.getGlyphOrder()[sub.new_gid[font.gid(ch)]]
        a, b = RecordingPen(), RecordingPen()
        mine_gs[name].draw(a)
        orig_gs[orig_cmap[ord(ch)]].draw(b)
        assert a.value == b.value, ch
        assert mine["hmtx"][name] == orig["hmtx"][orig_cmap[ord(ch)]]


def test_invalid_params_one_error_listing_every_field():
    pdf, tpl, sample = load_template("e_policy")
    bad = dict(sample)
    del bad["holder_name"]                     # missing
    bad["insured_name"] = "   "                # blank = missing
    bad["start_date"] = "2026/11/26"           # not ISO
    bad["end_date"] = "2026-02-30"             # impossible date
    bad["sum_insured"] = "十万"                 # not a number
    bad["premium"] = "12.345"                  # 3 decimals
    bad["policy_no"] = "P" * 40                # longer than max_length
    bad["beneficiary_legal"] = "yes"           # not a bool
    bad["coverages"] = [{"item": "意外", "amount": 1, "colour": "red"}]  # unknown column
    bad["nickname"] = "x"                      # unknown field
    with pytest.raises(FillError) as ei:
        fill(pdf, tpl, bad)
    err = ei.value
    assert err.code == "FILL_PARAMS_INVALID" and err.http_status == 422
    fields = {d["field"]: d["error"] for d in err.details}
    assert set(fields) == {"holder_name", "insured_name", "start_date", "end_date", "sum_insured",
                           "premium", "policy_no", "beneficiary_legal", "coverages[0].colour",
                           "nickname"}, fields
    assert fields["holder_name"] == "required"
    assert "yyyy-mm-dd" in fields["start_date"]
    assert "24" in fields["policy_no"]
    assert err.to_dict()["details"] == err.details


def test_overflow_and_missing_glyph_are_errors():
    pdf, tpl, sample = load_template("e_policy")
    bad = dict(sample, holder_name="张" * 20,        # within max_length 20 but too wide
               product_name="保险\U0001F600",        # emoji: not in the font
               coverages=[{"item": "x"}] * 9)        # table holds 4 rows
    with pytest.raises(FillError) as ei:
        fill(pdf, tpl, bad)
    fields = {d["field"]: d["error"] for d in ei.value.details}
    assert "too wide" in fields["holder_name"]
    assert "not available in the font" in fields["product_name"]
    assert "holds 4" in fields["coverages"]


@pytest.mark.parametrize("value,upper", [
    ("10000", "壹万元整"), ("0.5", "伍角整"), ("1.05", "壹元零伍分"), ("10005", "壹万零伍元整"),
    ("100000000", "壹亿元整"), ("12345.67", "壹万贰仟叁佰肆拾伍元陆角柒分"), ("0", "零元整"),
    ("1010", "壹仟零壹拾元整"), ("100010000", "壹亿零壹万元整"), ("20", "贰拾元整")])
def test_amount_upper(value, upper):
    assert amount_upper(Decimal(value)) == upper


def test_formatting_rendered():
    pdf, tpl, sample = load_template("e_policy")
    text = squash(pdftotext(fill(pdf, tpl, dict(sample, sum_insured=1234.5, start_date="2026-01-05"))))
    assert "人民币1,234.50（壹仟贰佰叁拾肆元伍角整）" in text
    assert "2026年01月05日" in text


def test_image_checkbox_and_optional_fields():
    """A hand-written definition over an uploaded-style PDF: image, checkbox, right aligned."""
    doc = pikepdf.new()
    doc.add_blank_page(page_size=(420, 300))
    buf = io.BytesIO()
    doc.save(buf)
    tpl = TemplateDef.from_dict({
        "code": "custom", "title": "自定义", "fields": [
            {"name": "photo", "type": "image", "rect": [20, 150, 100, 100], "align": "center"},
            {"name": "agree", "type": "checkbox", "rect": [20, 120, 14, 14]},
            {"name": "name", "type": "text", "rect": [150, 200, 200, 20], "align": "right"},
            {"name": "note", "type": "text", "rect": [150, 60, 200, 60], "multiline": True, "required": False},
            {"name": "rows", "type": "table", "rect": [20, 20, 380, 32], "row_height": 16,
             "columns": [{"name": "a", "width": 190}, {"name": "b", "width": 190, "align": "right"}]},
        ]})
    png = red_seal_png(60)
    out = fill(buf.getvalue(), tpl, {"photo": base64.b64encode(png).decode(), "agree": True,
                                     "name": "王小二", "rows": [{"a": "甲", "b": 1.5}]})
    text = squash(pdftotext(out))
    assert "王小二" in text and "甲" in text and "1.50" in text
    with pikepdf.open(io.BytesIO(out)) as d:
        xo = d.pages[0].Resources.XObject
        im = next(iter(xo.values()))
        assert im.Subtype == "/Image" and "/SMask" in im and int(im.Width) == 60
    with pytest.raises(FillError) as ei:
        fill(buf.getvalue(), tpl, {"photo": b"not an image", "agree": None, "name": "x", "rows": []})
    fields = {d["field"] for d in ei.value.details}
    assert fields == {"photo", "agree", "rows"}


def test_template_json_roundtrip_and_validation():
    _, tpl, _ = load_template("application")
    assert TemplateDef.from_json(tpl.to_json()) == tpl
    with pytest.raises(TemplateError) as ei:
        TemplateDef.from_dict({"code": "Bad Code", "title": "", "version": 0, "fields": [
            {"name": "1x", "type": "money", "rect": [0, 0, -1, 5], "align": "middle"},
            {"name": "t", "type": "table", "rect": [0, 0, 100, 5], "columns": []},
            {"name": "dup", "rect": [0, 0, 10, 10]}, {"name": "dup", "rect": [0, 0, 10, 10]}],
            "sign_positions": [{"role": "x"}, {"role": "y", "rect": [0, 0, 10, 10]},
                               {"role": "z", "keyword": "签名", "size": [0, 5]}]})
    paths = [d["field"] for d in ei.value.details]
    for p in ["code", "title", "version", "fields[0].name", "fields[0].type", "fields[0].rect",
              "fields[0].align", "fields[1].columns", "fields[3].name", "sign_positions[0]",
              "sign_positions[1].page", "sign_positions[2].size"]:
        assert p in paths, (p, paths)
    # a definition outside the PDF page is refused when filling
    pdf, _, _ = load_template("receipt")
    far = TemplateDef(code="x", title="x", fields=(FieldDef("a", rect=(900, 10, 50, 10)),))
    with pytest.raises(TemplateError):
        fill(pdf, far, {"a": "1"})
    assert ColumnDef("a").width == 80.0
