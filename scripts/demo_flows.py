"""Run the ten insurance scenarios against a running server and print each envelope's final
state [签署场景演示].

    .venv/bin/python scripts/demo_flows.py                      # the demo server, new tenant
    ESIGN_APP_SECRET=S .venv/bin/python scripts/demo_flows.py --url http://host:8000 --app-key K
    (or --app-secret=S: the "=" form, since a generated secret may begin with "-")

Without ``--app-key`` a fresh tenant is created with ``python -m backend.admin create-tenant``
(on the server's database: the same DATABASE_URL, by default the demo's SQLite file). The server
needs seal management open to the demo operator (``SEAL_ADMIN_CHECK=false``, as ``run.sh``
sets) and a job worker for the batch (in the demo, jobs run inside the server).
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.client import ApiClient  # noqa: E402
from backend.flows_client import (OPERATOR, approver, company, expect,  # noqa: E402
                                  form_pdf, make_seal, person, sample, sign_as, signer_of,
                                  signer_path)

CLAUSES = [{"id": "c1", "title": "责任免除", "text": "因投保人、被保险人故意行为造成的损失，保险人不负赔偿责任。"}]


class Demo:
    def __init__(self, api: ApiClient, run_id: str, batch_size: int) -> None:
        self.api, self.run, self.batch_size = api, run_id, batch_size
        self.results: list[tuple[str, str, str]] = []

    def no(self, name: str) -> str:
        return f"{name}-{self.run}"

    def create(self, body: dict) -> dict:
        return expect(self.api.post("/api/v1/envelopes", body, headers=OPERATOR), 200, 201)

    def record(self, scenario: str, envelope: dict) -> None:
        final = expect(self.api.get(f"/api/v1/envelopes/{envelope['id']}"), 200)
        signers = ", ".join(f"{s['role']}:{s['status']}" for s in final["signers"])
        self.results.append((scenario, final["status"], f"{final['business_no']}  [{signers}]"))
        print(f"{scenario:<34} {final['status']:<10} {final['business_no']}  [{signers}]",
              flush=True)

    def run_all(self) -> None:
        expect(self.api.post("/api/v1/templates/import-examples", {}, headers=OPERATOR), 201)
        seal = make_seal(self.api)
        self.s1_bulk_policies(seal)
        self.s2_double_signed_policy(seal)
        self.s3_application(seal)
        self.s4_one_party()
        self.s5_insured_list()
        self.s6_agent_agreement(seal)
        self.s7_reinsurance(seal)
        self.s8_guarantee_letter(seal)
        self.s9_endorsement(seal)

    def s1_bulk_policies(self, seal: str) -> None:
        rows = "\n".join(f"{self.no('LP')}-{n:05d}" for n in range(self.batch_size))
        batch = expect(self.api.post("/api/v1/envelope-batches", {
            "template": "e_policy", "params": sample("e_policy"), "csv": "business_no\n" + rows,
            "signers": [company("insurer", seal)]}, headers=OPERATOR), 201)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            state = expect(self.api.get(f"/api/v1/envelope-batches/{batch['id']}"), 200)
            if state["status"] != "running":
                break
            time.sleep(1)
        print(f"{'1 e-policies, silent, in bulk':<34} {state['status']:<10} "
              f"{state['total']} policies: {state['envelopes']}", flush=True)
        self.results.append(("1", state["status"], json.dumps(state["envelopes"])))

    def s2_double_signed_policy(self, seal: str) -> None:
        env = self.create({"template": "e_policy", "params": sample("e_policy"),
                           "business_no": self.no("PC"), "clauses": CLAUSES,
                           "signers": [person("policyholder", "张伟", 101,
                                              position={"keyword": "保险人盖章"}),
                                       company("insurer", seal, stage=2)]})
        sign_as(self.api, env, "policyholder")
        self.record("2+10 P&C policy, two parties", env)

    def s3_application(self, seal: str) -> None:
        env = self.create({"template": "application", "params": sample("application"),
                           "business_no": self.no("AP"),
                           "signers": [person("policyholder", "王芳", 201),
                                       person("insured", "王小明", 202)]})
        sign_as(self.api, env, "insured")
        sign_as(self.api, env, "policyholder")
        self.record("3 application (parallel)", env)
        change = self.create({"pdf_base64": form_pdf("受益人变更申请书", "申请人签名：", "保险人盖章："),
                              "title": "受益人变更申请书", "doc_type": "beneficiary_change",
                              "business_no": self.no("BC"),
                              "signers": [person("policyholder", "王芳", 201,
                                                 position={"keyword": "申请人签名"}),
                                          company("insurer", seal, stage=2,
                                                  position={"keyword": "保险人盖章"})]})
        sign_as(self.api, change, "policyholder")
        self.record("3 beneficiary change", change)

    def s4_one_party(self) -> None:
        env = self.create({"template": "receipt", "params": sample("receipt"),
                           "business_no": self.no("RC"),
                           "signers": [person("policyholder", "赵敏", 301,
                                              identity=("two_factor",))]})
        sign_as(self.api, env, "policyholder")
        self.record("4 receipt (one party)", env)

    def s5_insured_list(self) -> None:
        employer = "上海某某科技有限公司"
        seal = make_seal(self.api, employer, grantees=("u-hr-1",))
        env = self.create({"pdf_base64": form_pdf("被保险人清单", "1. 张三", "投保单位盖章："),
                           "title": "被保险人清单", "doc_type": "insured_list",
                           "business_no": self.no("IL"),
                           "signers": [company("policyholder", seal, company_name=employer,
                                               user_ref="u-hr-1",
                                               position={"keyword": "投保单位盖章"})]})
        self.record("5 insured list, company seals", env)

    def s6_agent_agreement(self, seal: str) -> None:
        env = self.create({"template": "agent_agreement", "params": sample("agent_agreement"),
                           "business_no": self.no("AG"), "doc_type": "agent_agreement",
                           "signers": [person("agent", "周杰", 601, ref=self.no("AGENT")),
                                       company("insurer", seal, stage=2)]})
        sign_as(self.api, env, "agent")
        self.record("6 agent agreement", env)
        pending = self.create({"template": "agent_agreement", "params": sample("agent_agreement"),
                               "business_no": self.no("AG2"), "doc_type": "agent_agreement",
                               "signers": [person("agent", "吴涛", 602, ref=self.no("AGENT2"))]})
        expect(self.api.post(f"/api/v1/agents/{self.no('AGENT2')}/lapse",
                             {"reason": "执业证注销"}, headers=OPERATOR), 200)
        self.record("6 agent lapsed: stopped", pending)

    def s7_reinsurance(self, seal: str) -> None:
        reinsurer = "中国某某再保险股份有限公司"
        re_seal = make_seal(self.api, reinsurer, grantees=("u-re-1",))
        env = self.create({"template": "reinsurance", "params": sample("reinsurance"),
                           "business_no": self.no("RE"),
                           "signers": [approver("u-leader-1", 1),
                                       company("cedent", seal, stage=2,
                                               position={"page": 1, "rect": [80, 80, 110, 110]}),
                                       company("reinsurer", re_seal, stage=2,
                                               company_name=reinsurer, user_ref="u-re-1",
                                               position={"page": 1,
                                                         "rect": [330, 80, 110, 110]})]})
        expect(self.api.post(signer_path(env, signer_of(env, "leader"), "/approve"),
                             {"comment": "同意分保"}), 200)
        self.record("7 reinsurance, company to company", env)

    def s8_guarantee_letter(self, seal: str) -> None:
        env = self.create({"template": "guarantee_letter", "params": sample("guarantee_letter"),
                           "business_no": self.no("GL"),
                           "signers": [approver("u-leader-2", 1), company("insurer", "", stage=2)]})
        expect(self.api.post(signer_path(env, signer_of(env, "leader"), "/approve"),
                             {"comment": "同意出具", "seal_id": seal,
                              "position": {"page": 1, "rect": [380, 120, 120, 120]}}), 200)
        self.record("8 guarantee letter, pre-seal node", env)

    def s9_endorsement(self, seal: str) -> None:
        env = self.create({"template": "endorsement", "params": sample("endorsement"),
                           "business_no": self.no("EN"),
                           "changes": [{"field": "sum_insured", "label": "保险金额",
                                        "old": "10000", "new": "20000"}],
                           "signers": [approver("u-leader-3", 1),
                                       company("insurer", seal, stage=2),
                                       person("policyholder", "孙丽", 401, stage=3)]})
        after = expect(self.api.post(signer_path(env, signer_of(env, "leader"), "/approve"),
                                     {"comment": "同意批改"}), 200)
        sign_as(self.api, after, "policyholder")
        self.record("9 endorsement 10000 → 20000", env)


def new_tenant() -> tuple[str, str]:
    env = {**os.environ}
    env.setdefault("DATABASE_URL", "sqlite://data/app.sqlite3")
    out = subprocess.run([sys.executable, "-m", "backend.admin", "create-tenant",
                          f"演示租户 {time.strftime('%H%M%S')}"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    made = json.loads(out[out.index("{"):])
    return made["app_key"], made["app_secret"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("ESIGN_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--app-key", default=os.environ.get("ESIGN_APP_KEY"))
    parser.add_argument("--app-secret", default=os.environ.get("ESIGN_APP_SECRET"))
    parser.add_argument("--batch", type=int, default=20, help="policies in scenario 1's batch")
    args = parser.parse_args()
    key, secret = (args.app_key, args.app_secret) if args.app_key else new_tenant()
    with ApiClient(args.url, key, secret, timeout=120) as api:
        demo = Demo(api, time.strftime("%Y%m%d%H%M%S"), args.batch)
        demo.run_all()
    bad = [r for r in demo.results if r[1] not in ("completed", "voided")]
    print(f"\n{len(demo.results)} envelopes/batches, {len(bad)} not completed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
