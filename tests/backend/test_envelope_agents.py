"""Scenario 6, agents [代理人]: agreements initiated in a batch, materials collected (ID card both
sides, qualification certificate) and checked, first-time identity check, validity period;
a lapsed licence or an ended agreement revokes the agent's grants and stops pending envelopes;
the rest of the batch is terminated."""
from __future__ import annotations

import base64
import datetime as dt
import io
import random

from backend.models.seal import SealGrant
from backend.services.envelopes import agents
from tests.backend.envelope_testkit import (company, make_seal, path, person, sign_as,
                                            signer_of, strokes)
from tests.backend.files_testkit import OP, import_examples, sample

MATERIALS = ["id_card_front", "id_card_back", "qualification"]


def photo(seed: int, size=(640, 400)) -> str:
    from PIL import Image

    rnd = random.Random(seed)
    image = Image.new("RGB", size, (230, 230, 220))
    for _ in range(300):
        x, y = rnd.randrange(size[0]), rnd.randrange(size[1])
        image.paste((rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)),
                    (x, y, x + 12, y + 6))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return base64.b64encode(out.getvalue()).decode()


def blank(size=(640, 400)) -> str:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (255, 255, 255)).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def agent(n: int) -> dict:
    return person("agent", ["周杰", "吴涛", "郑爽"][n], 600 + n, ref=f"AG-{n:04d}",
                  materials=MATERIALS)


async def test_agent_agreements_from_batch_to_lapse(fapi, run_jobs, runtime):
    import_examples(fapi)
    insurer_seal = make_seal(fapi)
    make_seal(fapi, grantees=("AG-0000", "AG-0001"), kind="contract")  # the agents' own grants
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    items = [{"business_no": f"AGR-{n}", "params": {}, "signers": [
        agent(n), company("insurer", insurer_seal, stage=2)]} for n in range(3)]
    created = fapi.post("/api/v1/envelope-batches", {
        "template": "agent_agreement", "params": sample("agent_agreement"),
        "doc_type": "agent_agreement", "valid_until": yesterday, "items": items,
        "signers": [agent(0)]}, headers=OP)
    assert created.status_code == 201, created.text
    batch_id = created.json()["id"]
    await run_jobs()
    envelopes = [fapi.get("/api/v1/envelopes", params={"business_no": f"AGR-{n}"})
                 .json()["items"][0] for n in range(3)]
    first = fapi.get(f"/api/v1/envelopes/{envelopes[0]['id']}").json()
    signer = signer_of(first, "agent")

    # materials: required before signing, checked when uploaded
    early = fapi.post(path(first, signer, "/sign"), {"signature": {"strokes": [[]]}})
    assert early.status_code in (409, 422)
    refused = fapi.post(path(first, signer, "/materials"),
                        {"kind": "id_card_front", "image_base64": blank()})
    assert refused.status_code == 422 and refused.json()["code"] == "MATERIAL_INVALID"
    tiny = fapi.post(path(first, signer, "/materials"),
                     {"kind": "id_card_front", "image_base64": photo(1, (80, 50))})
    assert tiny.json()["code"] == "MATERIAL_INVALID"
    not_image = fapi.post(path(first, signer, "/materials"),
                          {"kind": "qualification", "image_base64": base64.b64encode(b"%PDF-1.7").decode()})
    assert not_image.json()["code"] == "MATERIAL_INVALID"
    for n, kind in enumerate(MATERIALS):
        added = fapi.post(path(first, signer, "/materials"),
                          {"kind": kind, "image_base64": photo(n)})
        assert added.status_code == 201, added.text
    assert added.json()["missing"] == []

    # first-time identity check, then signing; the insurer seals silently
    final = sign_as(fapi, first, "agent")["envelope"]
    assert final["status"] == "completed" and final["valid_until"] == yesterday
    second = fapi.get(f"/api/v1/envelopes/{envelopes[1]['id']}").json()
    fapi.post(path(second, signer_of(second, "agent"), "/identity"), {})
    sign_try = fapi.post(path(second, signer_of(second, "agent"), "/sign"),
                         {"intent_id": None, "signature": {"strokes": strokes()}})
    assert sign_try.status_code == 409 and sign_try.json()["code"] == "MATERIALS_MISSING"

    # a lapsed licence: grants revoked at once, the pending agreement stopped
    lapsed = fapi.post("/api/v1/agents/AG-0001/lapse", {"reason": "执业证注销"}, headers=OP)
    assert lapsed.status_code == 200, lapsed.text
    assert lapsed.json()["envelopes_stopped"] == [envelopes[1]["id"]]
    assert len(lapsed.json()["grants_revoked"]) == 1
    assert fapi.get(f"/api/v1/envelopes/{envelopes[1]['id']}").json()["status"] == "voided"
    assert not await SealGrant.filter(grantee_ref="AG-0001", revoked_at=None).exists()

    # the first agent's agreement ended yesterday: housekeeping lapses the agent
    assert await SealGrant.filter(grantee_ref="AG-0000", revoked_at=None).exists()
    assert await agents.lapse_ended_agreements(runtime) == 1
    assert not await SealGrant.filter(grantee_ref="AG-0000", revoked_at=None).exists()
    assert await agents.lapse_ended_agreements(runtime) == 0  # idempotent

    # batch termination: the third agreement, still open, is voided
    ended = fapi.post(f"/api/v1/envelope-batches/{batch_id}/terminate",
                      {"reason": "渠道合作终止"}, headers=OP).json()
    assert ended["status"] == "terminated"
    assert fapi.get(f"/api/v1/envelopes/{envelopes[2]['id']}").json()["status"] == "voided"
    assert fapi.get(f"/api/v1/envelopes/{envelopes[0]['id']}").json()["status"] == "completed"
