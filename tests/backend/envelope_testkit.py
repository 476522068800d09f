"""Helpers of the signing-flow tests: a sealing-ready insurer, persons with valid ID numbers,
a drawn signature, and a person walking every step of signing through the API."""
from __future__ import annotations

import math

from tests.backend.files_testkit import COMPANY, OP, utc

ADMIN = {"X-Operator": "sec-admin-01"}
PASSWORD = "q1w2e3r4"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(serial: int, birth: str = "19800101", region: str = "110105") -> str:
    """A valid GB 11643 number (check digit computed)."""
    body = f"{region}{birth}{serial % 1000:03d}"
    total = sum(int(c) * w for c, w in zip(body, WEIGHTS))
    return body + "10X98765432"[total % 11]


def person(role: str, name: str, serial: int, *, stage: int = 1, ref: str = "",
           intent: str = "password", identity: tuple = ("three_factor",), **extra) -> dict:
    return {"kind": "person", "role": role, "stage": stage, "name": name,
            "id_number": id_number(serial), "mobile": f"139{serial:08d}", "ref": ref or
            f"p-{serial}", "intent": intent, "identity": list(identity), **extra}


def company(role: str = "insurer", seal_id: str = "", *, stage: int = 1,
            user_ref: str = "u-sealer", company_name: str = COMPANY, **extra) -> dict:
    return {"kind": "company", "role": role, "stage": stage, "company_name": company_name,
            "seal_id": seal_id, "user_ref": user_ref, **extra}


def approver(ref: str, stage: int, role: str = "leader") -> dict:
    return {"kind": "approver", "role": role, "stage": stage, "ref": ref}


def make_seal(api, company_name: str = COMPANY, grantees=("u-sealer",), kind="official",
              algorithm: str = "dual") -> str:
    """An approved seal of ``company_name`` (with a bound certificate) granted to ``grantees``."""
    seal = api.post("/api/v1/seals", {"kind": kind, "name": company_name}, headers=ADMIN)
    assert seal.status_code == 201, seal.text
    seal_id = seal.json()["id"]
    approved = api.post(f"/api/v1/seals/{seal_id}/transitions",
                        {"action": "approve", "reason": "审批通过"}, headers=ADMIN)
    assert approved.status_code == 200, approved.text
    listed = api.get("/api/v1/certificates", headers=ADMIN).json()
    if not any(c.get("company_name") == company_name for c in listed.get("items", [])):
        bound = api.post("/api/v1/certificates",
                         {"company_name": company_name, "algorithm": algorithm}, headers=ADMIN)
        assert bound.status_code == 201, bound.text
    for grantee in grantees:
        granted = api.post(f"/api/v1/seals/{seal_id}/grants",
                           {"grantee_type": "user", "grantee_ref": grantee, "reason": "出单用印",
                            "valid_from": utc(minutes=-1), "valid_until": utc(days=1)},
                           headers=ADMIN)
        assert granted.status_code == 201, granted.text
    return seal_id


def strokes(width: float = 300.0) -> list:
    """A plausible handwritten signature: two wavy strokes with time and pressure."""
    out = []
    for row in range(2):
        out.append([{"x": 20 + i * width / 40, "y": 60 + row * 50 + 20 * math.sin(i / 3),
                     "t": i * 16, "p": 0.5 + 0.3 * math.sin(i / 5)} for i in range(41)])
    return out


def create(api, body: dict, expect: int = 201, headers: dict | None = None) -> dict:
    response = api.post("/api/v1/envelopes", body, headers=headers or OP)
    assert response.status_code == expect, response.text
    return response.json()


def signer_of(envelope: dict, role: str) -> dict:
    return next(s for s in envelope["signers"] if s["role"] == role)


def path(envelope: dict, signer: dict, tail: str = "") -> str:
    return f"/api/v1/envelopes/{envelope['id']}/signers/{signer['id']}{tail}"


def set_password(api, signer: dict) -> None:
    response = api.request("PUT", f"/api/v1/identity/persons/{signer['person_id']}/signing-password",
                           json={"password": PASSWORD})
    assert response.status_code == 200, response.text


def sign_as(api, envelope: dict, role: str, *, clauses: bool = True) -> dict:
    """The person of ``role`` walks every step: identity, clauses, intent (password), signs."""
    signer = signer_of(envelope, role)
    ident = api.post(path(envelope, signer, "/identity"), {})
    assert ident.status_code == 200, ident.text
    if clauses:
        for clause in envelope["clauses"]:
            ack = api.post(path(envelope, signer, f"/clauses/{clause['id']}/ack"),
                           {"shown_seconds": 6.5})
            assert ack.status_code == 200, ack.text
    set_password(api, signer)
    started = api.post(path(envelope, signer, "/intent"), {})
    assert started.status_code == 201, started.text
    confirmed = api.post(f"/api/v1/identity/intents/{started.json()['id']}/confirm",
                         {"password": PASSWORD})
    assert confirmed.status_code == 200, confirmed.text
    signed = api.post(path(envelope, signer, "/sign"),
                      {"intent_id": started.json()["id"], "signature": {"strokes": strokes()}})
    assert signed.status_code == 201, signed.text
    return signed.json()


def document(api, envelope: dict) -> bytes:
    response = api.get(f"/api/v1/envelopes/{envelope['id']}/document")
    assert response.status_code == 200, response.text
    return response.content
