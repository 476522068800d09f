"""Leaders on mobile (DingTalk mini-app) [移动审批]: with their session (DingTalk authCode login
or any sign-in) a leader lists only the approval steps waiting for them and approves or rejects
with a comment; another leader cannot reach them."""
from __future__ import annotations

import httpx

from tests.backend.envelope_testkit import approver, create, signer_of
from tests.backend.files_testkit import import_examples, sample
from tests.backend.org_testkit import bearer


def _issue(api, leader: str, business_no: str) -> dict:
    return create(api, {"template": "application", "params": sample("application"),
                        "business_no": business_no, "signers": [approver(leader, 1)]})


def test_a_leader_lists_and_decides_only_their_approvals(org_server, org_api, pushed_org,
                                                         sign_in):
    import_examples(org_api)
    leader, other = bearer(sign_in("E0004")), bearer(sign_in("E0005"))
    first, second = _issue(org_api, "E0004", "AP-1"), _issue(org_api, "E0004", "AP-2")
    theirs = _issue(org_api, "E0005", "AP-3")
    with httpx.Client(base_url=org_server, timeout=30) as phone:
        assert phone.get("/m/approvals").status_code == 401
        mine = phone.get("/m/approvals", headers=leader).json()["items"]
        assert {i["envelope"]["business_no"] for i in mine} == {"AP-1", "AP-2"}
        assert [i["envelope"]["business_no"] for i in
                phone.get("/m/approvals", headers=other).json()["items"]] == ["AP-3"]

        step = signer_of(first, "leader")["id"]
        refused = phone.post(f"/m/approvals/{step}/approve", json={"comment": "同意"},
                             headers=other)
        assert refused.status_code == 404 and refused.json()["code"] == "SIGNER_NOT_FOUND"
        approved = phone.post(f"/m/approvals/{step}/approve", json={"comment": "同意"},
                              headers=leader)
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "signed"
        assert approved.json()["envelope"]["status"] == "completed"
        again = phone.post(f"/m/approvals/{step}/approve", json={}, headers=leader)
        assert again.status_code == 409

        step = signer_of(second, "leader")["id"]
        rejected = phone.post(f"/m/approvals/{step}/reject", json={"comment": "保额过高"},
                              headers=leader)
        assert rejected.status_code == 200, rejected.text
        assert rejected.json()["envelope"]["status"] == "rejected"
        assert phone.get("/m/approvals", headers=leader).json()["items"] == []
        assert phone.post(f"/m/approvals/{signer_of(theirs, 'leader')['id']}/reject",
                          json={}, headers=leader).status_code == 404
        assert phone.post("/m/approvals/not-a-uuid/approve", json={},
                          headers=leader).status_code == 404
