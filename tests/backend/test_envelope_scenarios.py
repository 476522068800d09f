"""The insurance scenarios end to end through the REST API [签署场景]: each envelope is issued,
signed in its order by persons (identity, clauses, intent, handwriting) and companies (silent
seal), approved by leaders where needed, and its final document verifies."""
from __future__ import annotations


from backend.flows_client import form_pdf
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


def test_application_change_and_beneficiary_forms_are_signed_by_two_parties(fapi):
    """Scenario 3: 投保单 (policyholder and insured in parallel), 变更申请书 and 受益人变更申请书
    (policyholder first, then the insurer seals)."""
    import_examples(fapi)
    seal_id = make_seal(fapi)
    application = create(fapi, {
        "template": "application", "params": sample("application"), "business_no": "AP-0001",
        "signers": [person("policyholder", "王芳", 201), person("insured", "王小明", 202)]})
    assert {s["status"] for s in application["signers"]} == {"ready"}  # parallel stage
    sign_as(fapi, application, "insured")
    final = sign_as(fapi, application, "policyholder")["envelope"]
    assert final["status"] == "completed"
    _valid_signatures(document(fapi, final), 2)
    for doc_type, title in (("change_request", "变更申请书"), ("beneficiary_change", "受益人变更申请书")):
        envelope = create(fapi, {
            "pdf_base64": form_pdf(title, "申请人签名：", "保险人盖章："), "title": title,
            "doc_type": doc_type, "business_no": "CH-0001",
            "signers": [person("policyholder", "王芳", 201, position={"keyword": "申请人签名"}),
                        company("insurer", seal_id, stage=2, position={"keyword": "保险人盖章"})]})
        final = sign_as(fapi, envelope, "policyholder")["envelope"]
        assert final["status"] == "completed", final
        _valid_signatures(document(fapi, final), 3)


def test_receipt_claim_form_and_beneficiary_confirmation_need_one_party(fapi):
    """Scenario 4: one person signs and the envelope completes."""
    import_examples(fapi)
    cases = [({"template": "receipt", "params": sample("receipt")}, "policyholder"),
             ({"template": "claim_form", "params": sample("claim_form")}, "applicant"),
             ({"pdf_base64": form_pdf("受益人确认书", "受益人签名："), "title": "受益人确认书",
               "doc_type": "beneficiary_confirmation"}, "beneficiary")]
    for n, (source, role) in enumerate(cases):
        position = {"keyword": "受益人签名"} if role == "beneficiary" else {}
        envelope = create(fapi, {**source, "business_no": f"ONE-{n}",
                                 "signers": [person(role, "赵敏", 300 + n, position=position,
                                                    identity=("two_factor",))]})
        final = sign_as(fapi, envelope, role)["envelope"]
        assert final["status"] == "completed"
        _valid_signatures(document(fapi, final), 1)


def test_an_insured_list_is_sealed_by_the_policyholder_company(fapi):
    """Scenario 5: 被保险人清单 sealed by the policyholder (a company), silently."""
    employer = "上海某某科技有限公司"
    seal_id = make_seal(fapi, employer, grantees=("u-hr-1",))
    envelope = create(fapi, {
        "pdf_base64": form_pdf("被保险人清单", "1. 张三 11010519491231002X", "投保单位盖章："),
        "title": "被保险人清单", "doc_type": "insured_list", "business_no": "IL-0001",
        "signers": [company("policyholder", seal_id, company_name=employer, user_ref="u-hr-1",
                            position={"keyword": "投保单位盖章"})]})
    assert envelope["status"] == "completed"
    sigs = _valid_signatures(document(fapi, envelope), 2)
    assert employer in (sigs[-1].signer.subject if sigs[-1].signer else "")


def test_reinsurance_contract_between_companies_after_leader_approval(fapi):
    """Scenario 7: leader approval, then cedent and reinsurer seal at fixed positions."""
    import_examples(fapi)
    reinsurer = "中国某某再保险股份有限公司"
    cedent_seal = make_seal(fapi, COMPANY, grantees=("u-sealer",))
    reinsurer_seal = make_seal(fapi, reinsurer, grantees=("u-re-1",))
    envelope = create(fapi, {
        "template": "reinsurance", "params": sample("reinsurance"), "business_no": "RE-0001",
        "signers": [approver("u-leader-1", 1),
                    company("cedent", cedent_seal, stage=2, position={"page": 1,
                                                                       "rect": [80, 80, 110, 110]}),
                    company("reinsurer", reinsurer_seal, stage=2, company_name=reinsurer,
                            user_ref="u-re-1", position={"page": 1, "rect": [330, 80, 110, 110]})]})
    assert envelope["status"] == "sent" and document_signatures(fapi, envelope) == 0
    leader = signer_of(envelope, "leader")
    approved = fapi.post(path(envelope, leader, "/approve"), {"comment": "同意分保"})
    assert approved.status_code == 200, approved.text
    final = approved.json()
    assert final["status"] == "completed"
    _valid_signatures(document(fapi, final), 4)  # two dual seals


def document_signatures(api, envelope) -> int:
    return len(verify(document(api, envelope)).signatures)


async def test_guarantee_letter_pre_seal_node_chooses_seal_and_position(fapi, receiver, run_jobs):
    """Scenario 8: 诉责保函 — the approver picks the seal and where it goes, then it is sealed
    and delivered (the business system is called back with the completed envelope)."""
    import_examples(fapi)
    hook = fapi.post("/api/v1/callbacks", {"url": receiver.url, "events": ["envelope.completed"]})
    receiver.secret = hook.json()["secret"]
    seal_id = make_seal(fapi)
    envelope = create(fapi, {
        "template": "guarantee_letter", "params": sample("guarantee_letter"),
        "business_no": "GL-0001",
        "signers": [approver("u-leader-2", 1), company("insurer", "", stage=2)]})
    leader = signer_of(envelope, "leader")
    assert signer_of(envelope, "insurer")["seal_id"] is None
    approved = fapi.post(path(envelope, leader, "/approve"),
                         {"comment": "同意出具", "seal_id": seal_id,
                          "position": {"page": 1, "rect": [380, 120, 120, 120]}})
    assert approved.status_code == 200, approved.text
    final = approved.json()
    assert final["status"] == "completed" and signer_of(final, "insurer")["seal_id"] == seal_id
    _valid_signatures(document(fapi, final), 2)
    await run_jobs()
    (delivered,) = [r for r in receiver.received if r["status"] == 200]
    assert delivered["signature_valid"] and delivered["body"]["type"] == "envelope.completed"
    assert delivered["body"]["data"]["business_no"] == "GL-0001"


def test_endorsement_approved_on_mobile_sealed_then_signed_by_the_customer(fapi):
    """Scenario 9: 批单 sum insured 10000 → 20000: leader approves, insurer seals, the customer
    sees the change and signs."""
    import_examples(fapi)
    seal_id = make_seal(fapi)
    change = [{"field": "sum_insured", "label": "保险金额", "old": "10000", "new": "20000"}]
    envelope = create(fapi, {
        "template": "endorsement", "params": sample("endorsement"), "business_no": "EN-0001",
        "changes": change,
        "signers": [approver("u-leader-3", 1), company("insurer", seal_id, stage=2),
                    person("policyholder", "孙丽", 401, stage=3)]})
    rejected_early = fapi.post(path(envelope, signer_of(envelope, "policyholder"), "/intent"), {})
    assert rejected_early.json()["code"] == "SIGNER_NOT_READY"
    approved = fapi.post(path(envelope, signer_of(envelope, "leader"), "/approve"),
                         {"comment": "同意批改"}, headers={"User-Agent": "DingTalk/7.0 Mobile"})
    after = approved.json()
    assert after["status"] == "signing" and signer_of(after, "insurer")["status"] == "signed"
    assert signer_of(after, "policyholder")["status"] == "ready"
    assert after["changes"] == change
    final = sign_as(fapi, after, "policyholder")["envelope"]
    assert final["status"] == "completed"
    _valid_signatures(document(fapi, final), 3)


def test_the_demo_script_runs_every_scenario_against_a_running_server(files_server, tenant,
                                                                       test_env, tmp_path):
    """``scripts/demo_flows.py`` prints each envelope's final state; all complete."""
    import signal
    import subprocess
    import sys

    from tests.backend.envelope_testkit import start_worker
    from tests.conftest import ROOT

    worker = start_worker({**test_env, "SEAL_ADMIN_CHECK": "false"}, tmp_path / "worker.log")
    try:
        run = subprocess.run([sys.executable, "scripts/demo_flows.py", "--url", files_server,
                              # "=": a generated secret may begin with "-" (argparse would
                              # take it for an option)
                              f"--app-key={tenant.app_key}", f"--app-secret={tenant.app_secret}",
                              "--batch", "5"], cwd=ROOT, capture_output=True, text=True,
                             timeout=600)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert "0 not completed" in lines[-1]
    assert any(line.startswith("9 endorsement") and "completed" in line for line in lines)
    assert any("5 policies" in line and "completed" in line for line in lines)
