"""Building form PDFs from a description / HTML / text; shipped templates are what the script makes."""
from __future__ import annotations

import io

import pikepdf
import pytest

from documents.build import (FieldItem, FieldRow, FormSpec, Paragraph, Title, build_form,
                             build_from_html)
from documents.errors import BuildError
from documents.fill import fill

from .doc_testkit import CODES, TEMPLATES, load_template, pdftotext, squash

HTML = """
<h1 data-subtitle="演示">车辆保险投保单</h1>
<h2>投保人信息</h2>
<div class="row"><label>投保人<input name="holder" maxlength="20"></label>
  <label>投保日期<input name="day" type="date"></label></div>
<div class="row"><label>保险金额<input name="amount" type="amount" data-upper data-currency="人民币"></label></div>
<fieldset data-label="使用性质"><label><input type="checkbox" name="private">家庭自用</label>
  <label><input type="checkbox" name="business">营业</label></fieldset>
<table name="cars" title="车辆" data-rows="2"><tr><th data-name="plate">号牌</th>
  <th data-name="vin" data-share="2">车架号</th></tr></table>
<p class="notice" data-title="免责条款">驾驶人饮酒、吸毒后驾驶的，保险人不负责赔偿。</p>
<div class="signatures"><span data-role="policyholder" data-date="sign_day">投保人签名</span>
  <span data-role="insurer" data-seal>保险人盖章</span></div>
"""


def test_build_from_html_then_fill():
    built = build_from_html(HTML, code="car_application")
    tpl = built.template
    assert [f.name for f in tpl.fields] == ["holder", "day", "amount", "private", "business",
                                           "cars", "sign_day"]
    assert [(p.role, p.keyword) for p in tpl.sign_positions] == [("policyholder", "投保人签名"),
                                                                ("insurer", "保险人盖章")]
    assert tpl.title == "车辆保险投保单"
    out = fill(built.pdf, tpl, {"holder": "欧阳娜娜", "day": "2026-11-25", "amount": "20000",
                                "private": True, "business": False,
                                "cars": [{"plate": "京A·12345", "vin": "LSVAU2180N2123456"}]})
    text = squash(pdftotext(out))
    for want in ("车辆保险投保单", "免责条款", "欧阳娜娜", "2026年11月25日", "人民币20,000.00（贰万元整）",
                 "京A·12345", "LSVAU2180N2123456", "投保人签名"):
        assert want in text, want
    with pytest.raises(BuildError):
        build_from_html("<h1>x</h1><video></video>", code="bad")


def test_build_from_plain_text_and_multi_page():
    body = "\n\n".join("第%d条 保险人应当按照约定履行赔偿或者给付保险金的义务。" % i * 6 for i in range(1, 40))
    built = build_from_html("保险条款\n\n" + body, code="clauses")
    assert built.page_count >= 2
    text = squash(pdftotext(built.pdf))
    assert "第39条" in text and "保险条款" in text and "共%d页" % built.page_count in text


def test_build_rejects_unknown_characters_and_bad_field_type():
    with pytest.raises(BuildError):
        build_form(FormSpec(code="x", title="x", blocks=(Title("emoji \U0001F600"),)))
    from documents.errors import TemplateError
    with pytest.raises(TemplateError):
        build_form(FormSpec(code="x", title="x", blocks=(FieldRow((FieldItem("a", "a", type="money"),)),)))


@pytest.mark.parametrize("code", CODES)
def test_shipped_templates(code):
    pdf, tpl, sample = load_template(code)
    assert len(pdf) < 200 * 1024
    assert tpl.code == code and tpl.sign_positions
    with pikepdf.open(io.BytesIO(pdf)) as d:
        assert len(d.pages) == 1 or code not in ("e_policy",)
    text = squash(pdftotext(pdf))
    for pos in tpl.sign_positions:
        assert pos.keyword in text
    if code in ("e_policy", "application"):
        assert "免责条款" in text
    # the sample covers every required field
    required = {f.name for f in tpl.fields if f.required}
    assert required <= set(sample), required - set(sample)


def test_templates_are_reproducible():
    """scripts/make_templates.py output equals the committed files (deterministic build)."""
    import importlib.util
    import pathlib
    spec = importlib.util.spec_from_file_location("make_templates", TEMPLATES.parent / "scripts/make_templates.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for s in mod.SPECS[:3]:
        built = build_form(s)
        assert built.template.to_json() + "\n" == (TEMPLATES / f"{s.code}.json").read_text(encoding="utf-8")
        assert built.pdf == (TEMPLATES / f"{s.code}.pdf").read_bytes(), s.code
    assert pathlib.Path(TEMPLATES).is_dir()


def test_paragraph_block_wraps_cjk():
    built = build_form(FormSpec(code="p", title="p", blocks=(Paragraph("保险" * 200),)))
    assert squash(pdftotext(built.pdf)).count("保险") == 200


def test_sign_keywords_checked_against_the_pdf():
    from dataclasses import replace

    from documents.errors import TemplateError
    from documents.template import SignPosition, check_sign_keywords
    for code in CODES:
        pdf, tpl, _ = load_template(code)
        check_sign_keywords(pdf, tpl)
    pdf, tpl, _ = load_template("receipt")
    bad = replace(tpl, sign_positions=tpl.sign_positions + (
        SignPosition(role="x", keyword="不存在的关键词"), SignPosition(role="y", keyword="投保人签名", page=3)))
    with pytest.raises(TemplateError) as ei:
        check_sign_keywords(pdf, bad)
    n = len(tpl.sign_positions)
    assert [d["field"] for d in ei.value.details] == [f"sign_positions[{n}].keyword", f"sign_positions[{n + 1}].page"]
