"""Document comparison: JSON diff and highlighted PDF."""
from __future__ import annotations

from documents.compare import compare
from documents.fill import fill

from .doc_testkit import load_template, render


def test_compare_finds_sum_insured_change():
    pdf, tpl, sample = load_template("endorsement")
    v1 = fill(pdf, tpl, sample)
    v2 = fill(pdf, tpl, dict(sample, after="保险金额：30000元", endorsement_text="保险金额调整。"))
    pdf, tpl, sample = load_template("e_policy")
    a = fill(pdf, tpl, dict(sample, sum_insured="10000"))
    b = fill(pdf, tpl, dict(sample, sum_insured="20000", handler=None))
    result = compare(a, b)
    ops = result.to_json()
    assert {"page": 1, "op": "replace", "old": "10,000.00", "new": "20,000.00"}.items() <= ops[0].items()
    assert any(c["op"] == "replace" and c["old"] == "壹" and c["new"] == "贰" for c in ops)
    assert any(c["op"] == "delete" and c["old"] == "王芳" for c in ops), ops
    assert len(ops) == 3
    # highlighted: yellow over the new amount
    box = result.changes[0].boxes[0]
    im = render(result.highlighted_pdf, dpi=72)
    crop = im.crop((int(box[0]), int(841.89 - box[3]), int(box[2]) + 1, int(841.89 - box[1]) + 1))
    assert sum(1 for r, g, bl in crop.getdata() if r > 200 and g > 180 and bl < 150) > 20
    assert not compare(a, a, highlight=False).changes
    # plain "10000元" → "20000元" in a text line
    ops2 = compare(v1, v2, highlight=False).to_json()
    assert {"op": "replace", "old": "20000", "new": "30000"}.items() <= ops2[0].items()
    assert any(c["op"] in ("replace", "delete") and "壹万元整" in c["old"] + c["old_line"] for c in ops2)
