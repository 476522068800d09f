"""The file centre through the API: query, permissions (owner unit, signers, grants; nobody
else; other tenant 404), storage (content-addressed, SM3), desensitised copy, company seal,
signed revisions, comparison, void."""
from __future__ import annotations

import base64
import hashlib

from backend.models.audit import AuditEntry
from backend.models.document import Document, DocumentRevision
from sign.verify import verify
from tests.backend.files_testkit import (OP, fill, import_examples, pdftotext, red_at, render,
                                         sample, seal_pixels, sealed_document)


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [d["id"] for d in response.json()["items"]]


def test_documents_are_found_by_business_no_policy_no_signer_status_type_and_date(api):
    import_examples(api)
    a = fill(api, "e_policy", business_no="BIZ-001",
             signers=[{"role": "policyholder", "name": "张伟", "ref": "p-zhangwei",
                       "mobile": "13800138000"}])
    b = fill(api, "receipt", business_no="BIZ-002", retention_until="2030-12-31")
    params = {**sample("e_policy"), "policy_no": "PDEA202611259999"}
    c = fill(api, "e_policy", params, business_no="BIZ-003")
    assert a["policy_no"] == "PDEA202611250001" and c["policy_no"] == "PDEA202611259999"
    assert a["signers"] == [{"role": "policyholder", "ref": "p-zhangwei", "name_masked": "张*",
                             "mobile_masked": "138****8000"}]
    search = lambda **q: _ids(api.get("/api/v1/documents", params=q, headers=OP))  # noqa: E731
    assert search(business_no="BIZ-002") == [b["id"]]
    assert search(policy_no="PDEA202611259999") == [c["id"]]
    assert search(signer="p-zhangwei") == [a["id"]]
    assert set(search(doc_type="e_policy")) == {a["id"], c["id"]}
    assert len(search(status="draft")) == 3 and search(status="signed") == []
    assert len(search(unit="branch-sh")) == 3
    assert search(since="2000-01-01", until="2001-01-01") == []
    assert len(search(since="2000-01-01")) == 3
    assert search(retention_before="2031-01-01") == [b["id"]]
    assert api.get(f"/api/v1/documents/{b['id']}", headers=OP).json()["retention_until"] == "2030-12-31"
    assert api.get("/api/v1/documents", params={"status": "lost"},
                   headers=OP).json()["code"] == "QUERY_INVALID"


def test_only_the_owner_unit_signers_and_grantees_see_a_document(api, server, other_tenant):
    from backend.client import ApiClient

    import_examples(api)
    doc = fill(api, "e_policy", signers=[{"role": "policyholder", "name": "张伟",
                                          "ref": "p-zhangwei"}])
    path = f"/api/v1/documents/{doc['id']}"
    stranger = {"X-Operator": "u-other", "X-Operator-Unit": "branch-bj",
                "X-Operator-Roles": "clerk"}
    signer = {"X-Operator": "p-zhangwei"}
    auditor = {"X-Operator": "u-audit", "X-Operator-Roles": "compliance"}
    assert api.get(path, headers=OP).status_code == 200
    assert api.get(path, headers=signer).status_code == 200
    for who in (stranger, auditor):
        response = api.get(path, headers=who)
        assert response.status_code == 404 and response.json()["code"] == "DOCUMENT_NOT_FOUND"
        assert api.get(f"{path}/current", headers=who).status_code == 404
        assert _ids(api.get("/api/v1/documents", headers=who)) == []
    assert api.get(path).json()["code"] == "OPERATOR_REQUIRED"
    granted = api.post(f"{path}/grants", {"grantee_type": "role", "grantee_ref": "compliance"},
                       headers=OP)
    assert granted.status_code == 201, granted.text
    assert api.get(path, headers=auditor).status_code == 200
    assert api.get(path, headers=stranger).status_code == 404
    api.post(f"{path}/grants", {"grantee_type": "unit", "grantee_ref": "branch-bj"}, headers=OP)
    assert _ids(api.get("/api/v1/documents", headers=stranger)) == [doc["id"]]
    with ApiClient(server, other_tenant.app_key, other_tenant.app_secret) as other:
        assert other.get(path, headers=OP).status_code == 404
        assert other.get(f"{path}/current", headers=OP).status_code == 404
    assert api.get("/api/v1/documents/not-a-uuid", headers=OP).status_code == 404


async def test_files_are_content_addressed_with_sha256_and_sm3(api, test_settings):
    from backend.runtime import Runtime
    from sign.crypto.sm3 import sm3_hexdigest

    import_examples(api)
    doc = fill(api, "receipt")
    pdf = api.get(f"/api/v1/documents/{doc['id']}/original", headers=OP).content
    assert hashlib.sha256(pdf).hexdigest() == doc["original"]["sha256"] == doc["current"]["sha256"]
    assert sm3_hexdigest(pdf) == doc["original"]["sm3"] and len(pdf) == doc["original"]["size"]
    store = Runtime.from_settings(test_settings).storage()
    assert store.get(doc["original"]["sha256"]) == pdf
    assert await AuditEntry.filter(action="document.generate").count() == 1


def test_an_uploaded_pdf_joins_the_file_centre(api):
    import_examples(api)
    made = fill(api, "receipt")
    pdf = api.get(f"/api/v1/documents/{made['id']}/current", headers=OP).content
    uploaded = api.post("/api/v1/documents", {
        "pdf_base64": base64.b64encode(pdf).decode(), "title": "外部回执", "doc_type": "receipt",
        "business_no": "EXT-1"}, headers=OP)
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["current"]["sha256"] == made["current"]["sha256"]
    assert uploaded.json()["short_code"] != made["short_code"]
    bad = api.post("/api/v1/documents", {"pdf_base64": base64.b64encode(b"%PDF-nope").decode(),
                                          "title": "坏文件"}, headers=OP)
    assert bad.status_code == 422 and bad.json()["code"] == "PDF_INVALID"


async def test_a_sealed_document_and_its_desensitised_copy(fapi):
    import_examples(fapi)
    before, doc = sealed_document(fapi)
    assert doc["status"] == "signed"
    assert doc["original"]["sha256"] == before["original"]["sha256"] != doc["current"]["sha256"]
    signed = fapi.get(f"/api/v1/documents/{doc['id']}/current", headers=OP).content
    report = verify(signed)
    assert [s.algorithm for s in report.signatures] == ["sm2", "rsa"]
    assert all(s.intact and s.crypto_valid for s in report.signatures)
    unsigned = fapi.get(f"/api/v1/documents/{doc['id']}/original", headers=OP).content
    seal = seal_pixels(render(signed, 50), render(unsigned, 50))
    assert len(seal) > 200   # the red seal
    copy = fapi.get(f"/api/v1/documents/{doc['id']}/desensitised", headers=OP)
    assert copy.status_code == 200
    assert red_at(render(copy.content, 50), seal) == 0
    assert "脱敏副本" in pdftotext(copy.content)
    assert verify(copy.content).signatures == ()
    # the archive is untouched
    again = fapi.get(f"/api/v1/documents/{doc['id']}/current", headers=OP).content
    assert hashlib.sha256(again).hexdigest() == doc["current"]["sha256"] == \
        hashlib.sha256(signed).hexdigest()
    revisions = fapi.get(f"/api/v1/documents/{doc['id']}/revisions", headers=OP).json()["items"]
    assert [(r["number"], r["kind"]) for r in revisions] == [(1, "generated"), (2, "sealed")]
    assert await DocumentRevision.filter(document_id=doc["id"]).count() == 2


def _personal_signature(pdf: bytes) -> bytes:
    """A personal RSA signature with an RFC 3161 time-stamp (test CA and TSA)."""
    import io

    from sign.certs import CompanySubject, TSASubject, create_hierarchy
    from sign.pdf import sign_pdf
    from sign.signers import SoftwareSigner
    from sign.specs import SignatureSpec
    from sign.timestamps import InProcessTimeStamper
    from sign.tsa import TimeStampAuthority

    ca = create_hierarchy("rsa2048", org="测试CA").issuing
    person = ca.new_identity(CompanySubject("测试人寿保险股份有限公司", common_name="张伟"))
    tsa = TimeStampAuthority.from_identity(ca.new_identity(TSASubject("测试时间戳", "测试CA")))
    out = io.BytesIO()
    sign_pdf(pdf, out, SoftwareSigner(person.key, person.cert, [ca.cert, *ca.chain]),
             SignatureSpec(reason="投保人签名", name="张伟", timestamper=InProcessTimeStamper(tsa),
                           contents_size=7000))   # keeps the upload under MAX_BODY_BYTES
    return out.getvalue()


async def test_a_signed_file_handed_back_becomes_the_current_revision(api):
    import_examples(api)
    doc = fill(api, "receipt", signers=[{"role": "policyholder", "name": "张伟",
                                         "ref": "p-zhangwei"}])
    current = api.get(f"/api/v1/documents/{doc['id']}/current", headers=OP).content
    signed = _personal_signature(current)
    other = fill(api, "receipt", {**sample("receipt"), "holder_name": "李娜"})
    refused = api.post(f"/api/v1/documents/{other['id']}/signed",
                       {"pdf_base64": base64.b64encode(signed).decode()}, headers=OP)
    assert refused.status_code == 422 and refused.json()["code"] == "SIGNED_FILE_NOT_INCREMENTAL"
    tampered = signed.replace(b"/Reason", b"/Reasom", 1)
    refused = api.post(f"/api/v1/documents/{doc['id']}/signed",
                       {"pdf_base64": base64.b64encode(tampered).decode()}, headers=OP)
    assert refused.status_code == 422, refused.text
    accepted = api.post(f"/api/v1/documents/{doc['id']}/signed",
                        {"pdf_base64": base64.b64encode(signed).decode()},
                        headers={"X-Operator": "p-zhangwei"})
    assert accepted.status_code == 201, accepted.text
    body = accepted.json()
    assert body["status"] == "signed" and body["current"]["sha256"] == hashlib.sha256(signed).hexdigest()
    assert body["original"]["sha256"] == doc["original"]["sha256"]
    events = api.get(f"/api/v1/documents/{doc['id']}/evidence", headers=OP).json()["events"]
    assert [e["kind"] for e in events][-2:] == ["signature", "timestamp"]
    assert "张伟" in events[-2]["payload"]["signer"]
    assert events[-1]["payload"]["imprint_ok"] and events[-1]["payload"]["time"]


def test_comparison_of_two_documents_finds_10000_to_20000(api):
    import_examples(api)
    old = fill(api, "e_policy")
    new = fill(api, "e_policy", {**sample("e_policy"), "sum_insured": "20000"})
    result = api.get("/api/v1/documents/compare", params={"old": old["id"], "new": new["id"]},
                     headers=OP)
    assert result.status_code == 200, result.text
    changes = result.json()["changes"]
    assert any("10,000.00" in c["old"] and "20,000.00" in c["new"] for c in changes), changes
    assert all(c["op"] == "replace" for c in changes)
    pdf = api.get("/api/v1/documents/compare", params={"old": old["id"], "new": new["id"],
                                                       "format": "pdf"}, headers=OP)
    assert pdf.headers["content-type"] == "application/pdf"
    assert "文档对比" in pdftotext(pdf.content)
    stranger = {"X-Operator": "u-other", "X-Operator-Unit": "branch-bj"}
    assert api.get("/api/v1/documents/compare", params={"old": old["id"], "new": new["id"]},
                   headers=stranger).status_code == 404


def test_comparison_of_two_revisions_of_one_document(fapi):
    import_examples(fapi)
    _, doc = sealed_document(fapi)
    result = fapi.get("/api/v1/documents/compare",
                      params={"old": doc["id"], "old_revision": "1", "new_revision": "2"},
                      headers=OP).json()
    assert result["old"]["revision"] == 1 and result["new"]["revision"] == 2
    assert result["old"]["sha256"] != result["new"]["sha256"]


async def test_void_and_supersede(api):
    import_examples(api)
    first = fill(api, "e_policy")
    second = fill(api, "e_policy")
    third = fill(api, "e_policy")
    voided = api.post(f"/api/v1/documents/{first['id']}/void", {"reason": "客户撤单"}, headers=OP)
    assert voided.json()["status"] == "voided" and voided.json()["void_reason"] == "客户撤单"
    again = api.post(f"/api/v1/documents/{first['id']}/void", {"reason": "x"}, headers=OP)
    assert again.status_code == 409 and again.json()["code"] == "DOCUMENT_STATE_INVALID"
    superseded = api.post(f"/api/v1/documents/{second['id']}/void",
                          {"reason": "批改换发", "superseded_by": third["id"]}, headers=OP)
    assert superseded.json()["status"] == "superseded"
    assert superseded.json()["superseded_by"] == third["id"]
    assert (await Document.get(id=third["id"])).status == "draft"
    assert await AuditEntry.filter(action__in=("document.void", "document.supersede")).count() == 2
