"""The insurance scenarios end to end through the REST API [签署场景]: each envelope is issued,
signed in its order by persons (identity, clauses, intent, handwriting) and companies (silent
seal), approved by leaders where needed, and its final document verifies."""
from __future__ import annotations

import base64

from sign.verify import verify
from tests.backend.envelope_testkit import (approver, company, create, document, make_seal,
                                            path, person, sign_as, signer_of)
from tests.backend.files_testkit import COMPANY, OP, import_examples, sample

CLAUSES = [{"id": "c1", "title": "责任免除第一条", "text": "因投保人、被保险人故意行为造成的损失，保险人不负赔偿责任。"},
           {"id": "c2", "title": "责任免除第二条", "text": "战争、军事冲突、暴乱造成的损失，保险人不负赔偿责任。"}]


def _valid_signatures(pdf: bytes, count: int) -> list:
    report = verify(pdf)
    assert len(report.signatures) == count, [s.field_name for s in report.signatures]
    assert all(s.intact and s.crypto_valid for s in report.signatures)
    return report.signatures


def test_p_and_c_policy_signed_by_customer_then_sealed_by_insurer(fapi):
    """Scenario 2 [双签] and 10: clauses acknowledged as evidence before the customer signs."""
    import_examples(fapi)
    seal_id = make_seal(fapi)
    envelope = create(fapi, {
        "template": "e_policy", "params": sample("e_policy"), "business_no": "PC-0001",
        "business_line": "property", "clauses": CLAUSES,
        "signers": [person("policyholder", "张伟", 101, position={"keyword": "保险人盖章"}),
                    company("insurer", seal_id, stage=2)]})
    assert envelope["status"] == "sent" and envelope["created"] is True
    assert signer_of(envelope, "policyholder")["status"] == "ready"
    assert signer_of(envelope, "insurer")["status"] == "waiting"
    done = sign_as(fapi, envelope, "policyholder")
    final = done["envelope"]
    assert final["status"] == "completed", final
    pdf = document(fapi, final)
    sigs = _valid_signatures(pdf, 3)  # person SM2, insurer SM2 + RSA
    assert [s.algorithm for s in sigs][0] == "sm2"
    events = fapi.get(f"/api/v1/documents/{final['document_id']}/evidence", headers=OP).json()
    kinds = [e["kind"] for e in events["events"]]
    assert kinds.count("clause_ack") == 2 and kinds.count("clause_shown") == 2
    assert kinds.index("clause_ack") < kinds.index("signature")
    assert "identity_check" in kinds and "intent" in kinds and events["chain"]["ok"]
