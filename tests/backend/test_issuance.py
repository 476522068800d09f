"""Bulk issuance [批量出单]: POST /api/v1/templates/{id}/issue fills, seals and stores many
e-policies in one request, leaving the same records as fill + seal one by one."""
from __future__ import annotations

import subprocess

import pikepdf

from backend import audit
from backend.models.billing import UsageEvent
from backend.models.document import Document
from backend.models.seal import SealUse
from backend.services import evidence
from sign.verify import verify
from tests.backend.files_testkit import (COMPANY, OP, fill, import_examples, ready_seal,
                                         sample)

SEAL = {"company_name": COMPANY, "role": "insurer", "user_ref": "u-sealer", "device": "pytest"}


def _items(n: int, **overrides) -> list[dict]:
    base = sample("e_policy")
    return [{"params": {**base, "policy_no": f"PB2026{i:08d}", **overrides},
             "business_no": f"BIZ-{i}",
             "signers": [{"role": "policyholder", "name": "张伟", "ref": f"p-{i}"}]}
            for i in range(n)]


def _issue(api, seal_id: str, items: list[dict], key: str | None = None):
    headers = {**OP, **({"Idempotency-Key": key} if key else {})}
    return api.post("/api/v1/templates/e_policy/issue",
                    {"items": items, "seal": {**SEAL, "seal_id": seal_id}}, headers=headers)


def _widget_rects(pdf: bytes) -> list[list[float]]:
    import io
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return [[round(float(v), 2) for v in annot.Rect] for page in doc.pages
                for annot in page.get("/Annots", []) if annot.get("/FT") == "/Sig"]


async def test_a_batch_is_filled_sealed_and_stored_like_one_by_one(fapi, tmp_path):
    import_examples(fapi)
    seal_id = ready_seal(fapi)
    response = _issue(fapi, seal_id, _items(5))
    assert response.status_code == 201, response.text
    docs = response.json()["items"]
    assert [d["policy_no"] for d in docs] == [f"PB2026{i:08d}" for i in range(5)]
    assert {d["status"] for d in docs} == {"signed"}
    assert [d["business_no"] for d in docs] == [f"BIZ-{i}" for i in range(5)]
    # the one-by-one path, for comparison
    single = fill(fapi, "e_policy")
    sealed = fapi.post(f"/api/v1/documents/{single['id']}/seal", {**SEAL, "seal_id": seal_id},
                       headers=OP)
    assert sealed.status_code == 201, sealed.text
    reference = fapi.get(f"/api/v1/documents/{single['id']}/current", headers=OP).content
    for doc in docs:
        signed = fapi.get(f"/api/v1/documents/{doc['id']}/current", headers=OP).content
        report = verify(signed)
        assert [s.algorithm for s in report.signatures] == ["sm2", "rsa"]
        assert all(s.intact and s.crypto_valid for s in report.signatures)
        assert _widget_rects(signed) == _widget_rects(reference)  # the template's position
        revisions = fapi.get(f"/api/v1/documents/{doc['id']}/revisions", headers=OP).json()
        assert [(r["number"], r["kind"]) for r in revisions["items"]] == \
            [(1, "generated"), (2, "sealed")]
        package = fapi.get(f"/api/v1/documents/{doc['id']}/evidence", headers=OP).json()
        assert [e["kind"] for e in package["events"]] == ["created", "seal_use", "signature",
                                                           "download"]
        assert package["chain"]["ok"] and (await evidence.verify_chain(doc["id"])).ok
    # each policyholder named as signer sees their own policy, not another's
    assert fapi.get(f"/api/v1/documents/{docs[0]['id']}", headers={"X-Operator": "p-0"}) \
        .status_code == 200
    assert fapi.get(f"/api/v1/documents/{docs[1]['id']}", headers={"X-Operator": "p-0"}) \
        .status_code == 404
    path = tmp_path / "issued.pdf"
    path.write_bytes(fapi.get(f"/api/v1/documents/{docs[0]['id']}/current", headers=OP).content)
    pdfsig = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True)
    assert pdfsig.stdout.count("Signature Validation: Signature is Valid") >= 1, pdfsig.stdout
    # uses, metering and the operation log, as for the single document
    assert await SealUse.filter(seal_id=seal_id, result="allowed").count() == 6
    for doc in docs:
        use = await SealUse.get(document_ref=doc["id"])
        assert use.result == "allowed" and use.user_ref == "u-sealer"
        keys = {e.key for e in await UsageEvent.filter(key__startswith=f"sig:{use.id}:")}
        assert keys == {f"sig:{use.id}:sm2", f"sig:{use.id}:rsa"}
    actions = [e.action for e in await audit.AuditEntry.filter(target=f"document:{docs[0]['id']}")
               .order_by("seq")]
    assert actions == ["document.generate", "document.sealed"]
    assert (await audit.verify_chain()).ok


async def test_one_bad_item_refuses_the_batch_and_writes_nothing(fapi):
    import_examples(fapi)
    seal_id = ready_seal(fapi)
    items = _items(3)
    del items[1]["params"]["holder_name"]
    items[2]["params"]["premium"] = "lots"
    before = await Document.all().count()
    response = _issue(fapi, seal_id, items)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "FILL_PARAMS_INVALID"
    assert {(d["item"], d["field"]) for d in body["details"]} >= {(1, "holder_name")}
    assert {d["item"] for d in body["details"]} == {1, 2}
    assert await Document.all().count() == before
    assert await SealUse.filter(seal_id=seal_id).count() == 0
    too_many = _issue(fapi, seal_id, [{"params": {}}] * 101)
    assert too_many.status_code == 422
    empty = _issue(fapi, seal_id, [])
    assert empty.status_code == 422


async def test_a_refused_seal_leaves_no_document_and_logs_each_attempt(fapi):
    import_examples(fapi)
    seal_id = ready_seal(fapi, max_uses=4)
    before = await Document.all().count()
    refused = _issue(fapi, seal_id, _items(5))
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "SEAL_USE_REFUSED"
    assert await Document.all().count() == before
    assert await SealUse.filter(seal_id=seal_id, result="refused").count() == 5
    assert await SealUse.filter(seal_id=seal_id, result="allowed").count() == 0
    ok = _issue(fapi, seal_id, _items(4))
    assert ok.status_code == 201, ok.text
    assert await SealUse.filter(seal_id=seal_id, result="allowed").count() == 4
    spent = _issue(fapi, seal_id, _items(1))
    assert spent.status_code == 403 and spent.json()["details"]["reason"] == "NO_VALID_GRANT"
    assert (await audit.verify_chain()).ok


async def test_a_repeated_request_with_its_idempotency_key_issues_once(fapi):
    import_examples(fapi)
    seal_id = ready_seal(fapi)
    first = _issue(fapi, seal_id, _items(2), key="batch-20261125-001")
    again = _issue(fapi, seal_id, _items(2), key="batch-20261125-001")
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert [d["id"] for d in again.json()["items"]] == [d["id"] for d in first.json()["items"]]
    assert await SealUse.filter(seal_id=seal_id).count() == 2


async def test_a_batch_past_the_signature_quota_is_refused_before_any_work(fapi):
    from backend.models.billing import QuotaHold

    import_examples(fapi)
    seal_id = ready_seal(fapi)
    plan = fapi.request("PUT", "/api/v1/billing/plan", json={
        "name": "限额", "items": {"signature.sm2": {"unit_price": 1, "quota": 6}}})
    assert plan.status_code in (200, 201), plan.text
    before = await Document.all().count()
    refused = _issue(fapi, seal_id, _items(7))
    assert refused.status_code == 402, refused.text
    assert refused.json()["code"] == "QUOTA_EXCEEDED"
    assert await Document.all().count() == before
    assert await SealUse.filter(seal_id=seal_id).count() == 0
    ok = _issue(fapi, seal_id, _items(6), key="quota-batch-1")
    assert ok.status_code == 201, ok.text
    assert await UsageEvent.filter(kind="signature.sm2").count() == 6
    assert await QuotaHold.all().count() == 0  # the batch's hold was consumed by its metering
    spent = _issue(fapi, seal_id, _items(1))
    assert spent.status_code == 402
