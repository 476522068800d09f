"""Batches [批量发起/批量签署/批量解除]: 1,000 e-policies sealed silently by the insurer in one batch
while the signing worker is killed (SIGKILL) mid-batch and restarted — every policy ends signed
exactly once; batch signing by one person after one intent; terminating a batch."""
from __future__ import annotations

import signal
import time

from backend.models.document import DocumentRevision
from backend.models.envelope import Envelope
from backend.models.billing import UsageEvent
from sign.verify import verify
from tests.backend.envelope_testkit import (PASSWORD, company, create, make_seal, person,
                                            set_password, start_worker, strokes)
from tests.backend.files_testkit import OP, import_examples, sample

BATCH = 1000


def progress(api, batch_id: str) -> dict:
    response = api.get(f"/api/v1/envelope-batches/{batch_id}")
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(api, batch_id: str, condition, timeout: float, what: str) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = progress(api, batch_id)
        if condition(state):
            return state
        time.sleep(0.5)
    raise AssertionError(f"{what} not reached in {timeout}s: {state}")


async def test_a_thousand_policies_are_sealed_once_each_though_the_worker_is_killed(
        fapi, test_env, tmp_path):
    """Scenario 1 + crash safety: SIGKILL the worker mid-batch, start another, nothing is lost
    or signed twice, and every stored file is whole."""
    import_examples(fapi)
    seal_id = make_seal(fapi)
    rows = "\n".join(f"LP{n:06d},PLIF2026{n:08d}" for n in range(1, BATCH + 1))
    created = fapi.post("/api/v1/envelope-batches", {
        "template": "e_policy", "params": sample("e_policy"), "business_line": "life",
        "csv": "business_no,policy_no\n" + rows,
        "signers": [company("insurer", seal_id)]}, headers={"X-Operator": "u-batch"})
    assert created.status_code == 201, created.text
    batch_id = created.json()["id"]
    env = {**test_env, "SEAL_ADMIN_CHECK": "false"}
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        wait_for(fapi, batch_id, lambda s: s["items"].get("done", 0) >= 120, 240, "120 done")
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        killed_at = progress(fapi, batch_id)
        assert killed_at["status"] == "running" and killed_at["items"].get("pending", 0) > 0
        worker = start_worker(env, tmp_path / "worker.log")
        final = wait_for(fapi, batch_id, lambda s: s["status"] == "completed" and
                         s["envelopes"] == {"completed": BATCH}, 600, "completion")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    assert final["items"] == {"done": BATCH} and final["envelopes"] == {"completed": BATCH}
    envelopes = await Envelope.filter(batch_id=batch_id)
    assert len({e.business_no for e in envelopes}) == BATCH
    docs = [e.document_id for e in envelopes]
    sealed = await DocumentRevision.filter(document_id__in=docs, kind="sealed").count()
    assert sealed == BATCH  # one seal revision per policy: none lost, none twice
    for alg in ("sm2", "rsa"):
        assert await UsageEvent.filter(kind=f"signature.{alg}").count() == BATCH
    for envelope in envelopes[::97]:  # spot-check whole, verifying files
        response = fapi.get(f"/api/v1/envelopes/{envelope.id}/document")
        report = verify(response.content)
        assert len(report.signatures) == 2 and all(s.intact and s.crypto_valid
                                                    for s in report.signatures)
    print(f"\n{log_tail(tmp_path / 'worker.log')}")


def log_tail(path) -> str:
    return "".join(open(path, encoding="utf-8", errors="replace").readlines()[-3:])


def test_one_person_signs_many_envelopes_after_one_intent(fapi):
    """批量签署: an agent signs ten receipts with one password confirmation."""
    import_examples(fapi)
    ids = []
    for n in range(10):
        envelope = create(fapi, {"template": "receipt", "params": sample("receipt"),
                                 "business_no": f"RC-{n:03d}",
                                 "signers": [person("policyholder", "钱多多", 777, identity=())]})
        ids.append(envelope["id"])
    signer = envelope["signers"][0]
    set_password(fapi, signer)
    started = fapi.post("/api/v1/batch-sign/intent", {"person_id": signer["person_id"],
                                                     "envelope_ids": ids, "method": "password"})
    assert started.status_code == 201, started.text
    intent_id = started.json()["id"]
    fapi.post(f"/api/v1/identity/intents/{intent_id}/confirm", {"password": PASSWORD})
    wrong_set = fapi.post("/api/v1/batch-sign", {"person_id": signer["person_id"],
                                                 "envelope_ids": ids[:5], "intent_id": intent_id,
                                                 "signature": {"strokes": strokes()}})
    assert wrong_set.json()["code"] == "INTENT_DOCUMENT_MISMATCH"  # bound to the whole set
    signed = fapi.post("/api/v1/batch-sign", {"person_id": signer["person_id"],
                                              "envelope_ids": ids, "intent_id": intent_id,
                                              "signature": {"strokes": strokes()}})
    assert signed.status_code == 201, signed.text
    assert signed.json()["signed"] == 10
    for envelope_id in ids:
        assert fapi.get(f"/api/v1/envelopes/{envelope_id}").json()["status"] == "completed"


async def test_terminating_a_batch_stops_pending_items_and_voids_open_envelopes(fapi, run_jobs):
    import_examples(fapi)

    def new_batch(prefix: str) -> str:
        created = fapi.post("/api/v1/envelope-batches", {
            "template": "receipt", "params": sample("receipt"),
            "items": [{"business_no": f"{prefix}-{n}"} for n in range(4)],
            "signers": [person("policyholder", "李雷", 901, identity=())]}, headers=OP)
        assert created.status_code == 201, created.text
        return created.json()["id"]

    made = new_batch("TA")
    await run_jobs()
    assert progress(fapi, made)["envelopes"] == {"sent": 4}
    not_started = new_batch("TB")
    for batch_id in (made, not_started):
        terminated = fapi.post(f"/api/v1/envelope-batches/{batch_id}/terminate",
                               {"reason": "产品停售"}, headers=OP)
        assert terminated.status_code == 200, terminated.text
    await run_jobs()
    assert progress(fapi, made)["envelopes"] == {"voided": 4}
    state = progress(fapi, not_started)
    assert state["status"] == "terminated" and state["items"] == {"terminated": 4}
    assert state["envelopes"] == {}
