"""Templates through the API: the shipped examples filled with Chinese data, 422 listing every
bad field, versions and the edit trail, documents keeping their version, publish/disable,
sharing, building from HTML."""
from __future__ import annotations

import base64
import json

import pytest

from backend.models.audit import AuditEntry
from backend.models.template import Template, TemplateEdit
from tests.backend.files_testkit import (CODES, OP, TEMPLATES, fill, import_examples, pdftotext,
                                         sample)


def _values(params: dict) -> list[str]:
    """Text values of a sample that must appear in the PDF (dates/amounts are reformatted)."""
    out = []
    for value in params.values():
        if isinstance(value, str) and not value[:4].isdigit() and len(value) >= 2:
            out.append(value)
    return out


def test_the_eight_shipped_templates_are_imported_published_and_shared(api):
    imported = import_examples(api)
    assert sorted(imported) == CODES and len(CODES) == 8
    assert all(t["status"] == "published" and t["shared"] and t["imported"]
               for t in imported.values())
    again = import_examples(api)
    assert not any(t["imported"] for t in again.values())
    listed = api.get("/api/v1/templates", headers=OP).json()["items"]
    assert [t["code"] for t in listed] == CODES


@pytest.mark.parametrize("code", CODES)
def test_every_shipped_template_fills_with_chinese_data_and_the_text_is_extractable(api, code):
    import_examples(api)
    params = sample(code)
    doc = fill(api, code, params, title=f"{code} 测试")
    assert doc["status"] == "draft" and doc["template"] == {"code": code, "version": 1}
    pdf = api.get(f"/api/v1/documents/{doc['id']}/current", headers=OP)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(pdftotext(pdf.content).split())
    for value in _values(params):
        assert "".join(value.split()) in text, (code, value)
    fonts = pdf.content.count(b"+WenQuanYiZenHei")
    assert fonts >= 1  # CJK font embedded as a subset


def test_missing_and_invalid_parameters_give_one_422_listing_every_field(api):
    import_examples(api)
    params = sample("e_policy")
    del params["holder_name"], params["policy_no"]
    params.update(start_date="2026-13-45", sum_insured="一万", unknown_field="x")
    response = api.post("/api/v1/templates/e_policy/fill", {"params": params}, headers=OP)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "FILL_PARAMS_INVALID"
    fields = {d["field"] for d in body["details"]}
    assert {"holder_name", "policy_no", "start_date", "sum_insured", "unknown_field"} <= fields


def test_a_change_makes_a_new_version_with_an_edit_trail_and_documents_keep_theirs(api):
    import_examples(api)
    before = fill(api, "receipt")
    definition = json.loads((TEMPLATES / "receipt.json").read_text())
    definition["title"] = "保单回执（2027版）"
    definition["fields"] = [f for f in definition["fields"] if f["name"] != "by_paper"]
    changed = api.post("/api/v1/templates/receipt/versions",
                       {"summary": "取消纸质保单选项", "definition": definition},
                       headers={**OP, "X-Operator": "u-product-2"})
    assert changed.status_code == 201, changed.text
    assert changed.json()["number"] == 2
    template = api.get("/api/v1/templates/receipt", headers=OP).json()
    assert template["current_version"] == 2
    assert template["version"]["definition"]["title"] == "保单回执（2027版）"
    params = sample("receipt")
    del params["by_paper"]
    after = fill(api, "receipt", params)
    assert after["template"]["version"] == 2
    assert api.get(f"/api/v1/documents/{before['id']}", headers=OP).json()["template"] == \
        {"code": "receipt", "version": 1}
    old_params = api.post("/api/v1/templates/receipt/fill", {"params": sample("receipt")},
                          headers=OP)
    assert old_params.status_code == 422  # by_paper is unknown in version 2
    versions = api.get("/api/v1/templates/receipt/versions", headers=OP).json()["items"]
    assert [v["number"] for v in versions] == [1, 2]
    assert versions[0]["pdf"]["sha256"] == versions[1]["pdf"]["sha256"]
    edits = api.get("/api/v1/templates/receipt/edits", headers=OP).json()["items"]
    assert [e["action"] for e in edits] == ["create", "publish", "new_version"]
    last = edits[-1]
    assert last["actor"] == "user:u-product-2" and last["summary"] == "取消纸质保单选项"
    assert last["diff"]["fields"]["removed"] == ["by_paper"]
    assert last["diff"]["title"]["new"] == "保单回执（2027版）"
    first_pdf = api.get("/api/v1/templates/receipt/versions/1/pdf", headers=OP)
    assert first_pdf.status_code == 200 and first_pdf.content.startswith(b"%PDF")


async def test_publish_disable_and_the_draft_guard(api):
    html = ("<h1>健康告知书</h1><p>请如实告知。</p><div class='row'><label>被保险人"
            "<input name='insured'></label><label>告知日期<input name='day' type='date'>"
            "</label></div><div class='signatures'><span data-role='insured'>被保险人签名</span></div>")
    created = api.post("/api/v1/templates", {"code": "health_notice", "title": "健康告知书",
                                             "html": html, "unit": "branch-sh"}, headers=OP)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "draft" and body["version"]["source"] == "html"
    assert [f["name"] for f in body["version"]["definition"]["fields"]] == ["insured", "day"]
    params = {"insured": "欧阳娜娜", "day": "2026-11-25"}
    draft = api.post("/api/v1/templates/health_notice/fill", {"params": params}, headers=OP)
    assert draft.status_code == 409 and draft.json()["code"] == "TEMPLATE_NOT_PUBLISHED"
    publish = api.post("/api/v1/templates/health_notice/transitions", {"action": "publish"},
                       headers=OP)
    assert publish.json()["status"] == "published"
    doc = fill(api, "health_notice", params)
    assert "欧阳娜娜" in pdftotext(api.get(f"/api/v1/documents/{doc['id']}/current",
                                        headers=OP).content)
    disabled = api.post("/api/v1/templates/health_notice/transitions",
                        {"action": "disable", "reason": "停售"}, headers=OP)
    assert disabled.json()["status"] == "disabled"
    again = api.post("/api/v1/templates/health_notice/transitions", {"action": "disable"},
                     headers=OP)
    assert again.status_code == 409 and again.json()["code"] == "TEMPLATE_TRANSITION_INVALID"
    assert api.post("/api/v1/templates/health_notice/fill", {"params": params},
                    headers=OP).status_code == 409
    actions = [a async for a in AuditEntry.filter(action__startswith="template.")
               .order_by("seq").values_list("action", flat=True)]
    assert actions == ["template.create", "template.publish", "template.disable"]


def test_a_template_not_shared_is_filled_only_by_its_unit(api):
    import_examples(api)
    api.post("/api/v1/templates/endorsement/sharing", {"shared": False}, headers=OP)
    template = api.get("/api/v1/templates/endorsement", headers=OP).json()
    assert template["shared"] is False and template["unit"] == "hq"
    other_unit = {**OP, "X-Operator-Unit": "branch-bj"}
    refused = api.post("/api/v1/templates/endorsement/fill", {"params": sample("endorsement")},
                       headers=other_unit)
    assert refused.status_code == 404
    listed = api.get("/api/v1/templates", headers=other_unit).json()["items"]
    assert "endorsement" not in [t["code"] for t in listed]
    fill(api, "endorsement", headers={**OP, "X-Operator-Unit": "hq"})
    edits = api.get("/api/v1/templates/endorsement/edits", headers=OP).json()["items"]
    assert edits[-1]["action"] == "unshare"


@pytest.mark.parametrize("body, code", [
    ({"code": "x1", "title": "无定义", "pdf_base64": base64.b64encode(
        (TEMPLATES / "receipt.pdf").read_bytes()).decode()}, "TEMPLATE_SOURCE_INVALID"),
    ({"code": "x2", "title": "坏PDF", "pdf_base64": base64.b64encode(b"not a pdf").decode(),
      "definition": {"fields": []}}, "PDF_INVALID"),
    ({"code": "x3", "title": "关键字缺失", "pdf_base64": base64.b64encode(
        (TEMPLATES / "receipt.pdf").read_bytes()).decode(),
      "definition": {"fields": [], "sign_positions": [{"role": "x", "keyword": "不存在的关键字"}]}},
     "TEMPLATE_INVALID"),
    ({"code": "x4", "title": "字段越界", "pdf_base64": base64.b64encode(
        (TEMPLATES / "receipt.pdf").read_bytes()).decode(),
      "definition": {"fields": [{"name": "a", "rect": [9000, 10, 50, 12]}]}}, "TEMPLATE_INVALID"),
])
async def test_bad_templates_are_refused_and_nothing_is_stored(api, body, code):
    response = api.post("/api/v1/templates", body, headers=OP)
    assert response.status_code == 422 and response.json()["code"] == code, response.text
    assert await Template.all().count() == 0 and await TemplateEdit.all().count() == 0


def test_an_uploaded_template_with_its_definition_is_created(api):
    definition = json.loads((TEMPLATES / "guarantee_letter.json").read_text())
    created = api.post("/api/v1/templates", {
        "code": "my_letter", "title": "诉责保函（分公司版）", "definition": definition,
        "pdf_base64": base64.b64encode((TEMPLATES / "guarantee_letter.pdf").read_bytes()).decode(),
        "publish": True, "shared": False, "unit": "branch-sh"}, headers=OP)
    assert created.status_code == 201, created.text
    assert created.json()["version"]["definition"]["code"] == "my_letter"
    doc = fill(api, "my_letter", sample("guarantee_letter"))
    assert doc["unit"] == "branch-sh" and doc["template"] == {"code": "my_letter", "version": 1}
    taken = api.post("/api/v1/templates", {"code": "my_letter", "title": "重复", "html": "<h1>x</h1>"},
                     headers=OP)
    assert taken.status_code == 409 and taken.json()["code"] == "TEMPLATE_CODE_TAKEN"


def test_the_operator_is_required_for_changes(api):
    response = api.post("/api/v1/templates/import-examples", {})
    assert response.status_code == 422 and response.json()["code"] == "OPERATOR_REQUIRED"


def test_another_tenants_template_is_not_found(api, server, other_tenant):
    from backend.client import ApiClient

    import_examples(api)
    with ApiClient(server, other_tenant.app_key, other_tenant.app_secret) as other:
        assert other.get("/api/v1/templates/e_policy", headers=OP).status_code == 404
        assert other.post("/api/v1/templates/e_policy/fill", {"params": sample("e_policy")},
                          headers=OP).status_code == 404


def test_two_template_versions_are_compared(api):
    html = ("<h1>保费通知书</h1><p>本期应缴保费为人民币10000元，请于30日内缴纳。</p>"
            "<div class='row'><label>投保人<input name='holder'></label></div>")
    assert api.post("/api/v1/templates", {"code": "notice", "title": "保费通知书", "html": html},
                    headers=OP).status_code == 201
    changed = api.post("/api/v1/templates/notice/versions",
                       {"summary": "保费调整", "html": html.replace("10000", "20000")}, headers=OP)
    assert changed.status_code == 201, changed.text
    result = api.get("/api/v1/templates/notice/compare", params={"old": "1", "new": "2"},
                     headers=OP).json()
    pairs = [(c["old"], c["new"]) for c in result["changes"]]
    assert ("10000", "20000") in pairs and len(pairs) <= 2   # (+ the footer's version number)
    pdf = api.get("/api/v1/templates/notice/compare",
                  params={"old": "1", "new": "2", "format": "pdf"}, headers=OP)
    assert pdf.headers["content-type"] == "application/pdf"
    assert api.get("/api/v1/templates/notice/versions/9", headers=OP).status_code == 404
    assert api.get("/api/v1/templates/notice/versions/x", headers=OP).status_code == 404


async def test_a_fill_retried_with_its_idempotency_key_makes_one_document(api):
    from backend.models.document import Document

    import_examples(api)
    body = {"params": sample("receipt"), "business_no": "BIZ-IDEM"}
    first = api.post("/api/v1/templates/receipt/fill", body, headers=OP, idempotency_key="fill-1")
    again = api.post("/api/v1/templates/receipt/fill", body, headers=OP, idempotency_key="fill-1")
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["id"] == again.json()["id"]
    assert await Document.filter(business_no="BIZ-IDEM").count() == 1
