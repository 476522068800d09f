"""Walking the signing flows as a business system does, over the REST API: signer
definitions, a ready-to-use company seal, a drawn signature, and a person's every step
(identity, clauses, intent, handwriting). Used by ``scripts/demo_flows.py`` and the tests.

Every call checks its answer and raises ``FlowError`` with the server's error body.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import math
import pathlib
from typing import Any

ADMIN = {"X-Operator": "sec-admin-01"}
OPERATOR = {"X-Operator": "u-clerk-1", "X-Operator-Unit": "branch-sh", "X-Operator-Roles": "clerk"}
COMPANY = "测试人寿保险股份有限公司"
PASSWORD = "q1w2e3r4"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


TEMPLATES = pathlib.Path(__file__).resolve().parents[1] / "templates"


class FlowError(RuntimeError):
    pass


def expect(response, *codes: int) -> Any:
    if response.status_code not in codes:
        raise FlowError(f"{response.request.method} {response.request.url.path} -> "
                        f"{response.status_code}: {response.text[:500]}")
    return response.json() if response.headers.get("content-type", "").startswith(
        "application/json") else response


def utc(**delta: float) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(**delta)).isoformat()


def sample(code: str) -> dict:
    """The parameters of a shipped example template (``templates/<code>.sample.json``)."""
    return json.loads((TEMPLATES / f"{code}.sample.json").read_text())


def form_pdf(title: str, *lines: str) -> str:
    """A small uploaded form (title + lines, CJK font), base64 for ``pdf_base64``."""
    from documents.build import FormSpec, Paragraph, Title, build_form

    blocks = (Title(title), *(Paragraph(line) for line in lines))
    pdf = build_form(FormSpec(code="demo", title=title, blocks=blocks, issuer="演示")).pdf
    return base64.b64encode(pdf).decode()


def id_number(serial: int, birth: str = "19800101", region: str = "110105") -> str:
    """A valid GB 11643 number (check digit computed) for demo persons."""
    body = f"{region}{birth}{serial % 1000:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _WEIGHTS)) % 11]


def person(role: str, name: str, serial: int, *, stage: int = 1, ref: str = "",
           intent: str = "password", identity: tuple = ("three_factor",), **extra) -> dict:
    return {"kind": "person", "role": role, "stage": stage, "name": name,
            "id_number": id_number(serial), "mobile": f"139{serial:08d}",
            "ref": ref or f"p-{serial}", "intent": intent, "identity": list(identity), **extra}


def company(role: str = "insurer", seal_id: str = "", *, stage: int = 1,
            user_ref: str = "u-sealer", company_name: str = COMPANY, **extra) -> dict:
    return {"kind": "company", "role": role, "stage": stage, "company_name": company_name,
            "seal_id": seal_id, "user_ref": user_ref, **extra}


def approver(ref: str, stage: int, role: str = "leader") -> dict:
    return {"kind": "approver", "role": role, "stage": stage, "ref": ref}


def make_seal(api, company_name: str = COMPANY, grantees=("u-sealer",), kind: str = "official",
              algorithm: str = "dual") -> str:
    """An approved seal of ``company_name`` with a bound certificate, granted to ``grantees``."""
    seal_id = expect(api.post("/api/v1/seals", {"kind": kind, "name": company_name},
                              headers=ADMIN), 201)["id"]
    expect(api.post(f"/api/v1/seals/{seal_id}/transitions",
                    {"action": "approve", "reason": "审批通过"}, headers=ADMIN), 200)
    bound = expect(api.get("/api/v1/certificates", params={"company": company_name},
                           headers=ADMIN), 200)["items"]
    if not bound:
        expect(api.post("/api/v1/certificates",
                        {"company_name": company_name, "algorithm": algorithm}, headers=ADMIN),
               201)
    for grantee in grantees:
        expect(api.post(f"/api/v1/seals/{seal_id}/grants",
                        {"grantee_type": "user", "grantee_ref": grantee, "reason": "出单用印",
                         "valid_from": utc(minutes=-1), "valid_until": utc(days=1)},
                        headers=ADMIN), 201)
    return seal_id


def strokes(width: float = 300.0) -> list:
    """A plausible handwritten signature: two wavy strokes with time and pressure."""
    return [[{"x": 20 + i * width / 40, "y": 60 + row * 50 + 20 * math.sin(i / 3),
              "t": i * 16, "p": 0.5 + 0.3 * math.sin(i / 5)} for i in range(41)]
            for row in range(2)]


def signer_of(envelope: dict, role: str) -> dict:
    return next(s for s in envelope["signers"] if s["role"] == role)


def signer_path(envelope: dict, signer: dict, tail: str = "") -> str:
    return f"/api/v1/envelopes/{envelope['id']}/signers/{signer['id']}{tail}"


def set_password(api, signer: dict) -> None:
    expect(api.request("PUT", f"/api/v1/identity/persons/{signer['person_id']}/signing-password",
                       json={"password": PASSWORD}), 200)


def sign_as(api, envelope: dict, role: str, *, clauses: bool = True) -> dict:
    """The person of ``role`` walks every step (identity, each clause, password intent,
    handwritten signature); returns the sign answer with the envelope after it."""
    signer = signer_of(envelope, role)
    expect(api.post(signer_path(envelope, signer, "/identity"), {}), 200)
    if clauses:
        for clause in envelope["clauses"]:
            expect(api.post(signer_path(envelope, signer, f"/clauses/{clause['id']}/ack"),
                            {"shown_seconds": 6.5}), 200)
    set_password(api, signer)
    started = expect(api.post(signer_path(envelope, signer, "/intent"), {}), 201)
    expect(api.post(f"/api/v1/identity/intents/{started['id']}/confirm",
                    {"password": PASSWORD}), 200)
    return expect(api.post(signer_path(envelope, signer, "/sign"),
                           {"intent_id": started["id"], "signature": {"strokes": strokes()}}),
                  201)
