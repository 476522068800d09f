"""Helpers of the template and file-centre tests (no fixtures here: see conftest.py)."""
from __future__ import annotations

import datetime as dt
import pathlib
import subprocess

from backend.flows_client import COMPANY, sample  # noqa: F401 - the tests' import path
from backend.flows_client import OPERATOR as OP  # user u-clerk-1 of unit branch-sh
from tests.conftest import ROOT

TEMPLATES = ROOT / "templates"
CODES = sorted(p.name[:-5] for p in TEMPLATES.glob("*.json") if not p.name.endswith(".sample.json"))


def import_examples(api) -> dict[str, dict]:
    response = api.post("/api/v1/templates/import-examples", {}, headers=OP)
    assert response.status_code == 201, response.text
    return {t["code"]: t for t in response.json()["items"]}


def fill(api, code: str, params: dict | None = None, headers: dict | None = None, **body) -> dict:
    response = api.post(f"/api/v1/templates/{code}/fill",
                        {"params": params if params is not None else sample(code), **body},
                        headers=headers or OP)
    assert response.status_code == 201, response.text
    return response.json()


def pdftotext(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


def render(pdf: bytes, dpi: int = 100, page: int = 1):
    import tempfile

    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "in.pdf"
        src.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page),
                        "-singlefile", str(src), str(pathlib.Path(tmp) / "out")], check=True)
        return Image.open(pathlib.Path(tmp) / "out.png").convert("RGB")


def _red(pixel) -> bool:
    r, g, b = pixel
    return r > 150 and g < 90 and b < 90


def red_pixels(image) -> int:
    return sum(1 for p in image.getdata() if _red(p))


def seal_pixels(signed, unsigned) -> set[int]:
    """Positions red in the signed rendering but not in the unsigned one: the seal."""
    return {i for i, (a, b) in enumerate(zip(signed.getdata(), unsigned.getdata()))
            if _red(a) and not _red(b)}


def red_at(image, positions: set[int]) -> int:
    data = list(image.getdata())
    return sum(1 for i in positions if _red(data[i]))


def utc(**delta) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(**delta)).isoformat()


def ready_seal(api, max_uses: int | None = None) -> str:
    """The insurer's official seal, approved, with a dual (SM2 + RSA) certificate bound and
    granted to user u-sealer (at most ``max_uses`` times); returns its id."""
    admin = {"X-Operator": "sec-admin-01"}
    seal = api.post("/api/v1/seals", {"kind": "official", "name": COMPANY}, headers=admin)
    assert seal.status_code == 201, seal.text
    seal_id = seal.json()["id"]
    approved = api.post(f"/api/v1/seals/{seal_id}/transitions",
                        {"action": "approve", "reason": "审批通过"}, headers=admin)
    assert approved.status_code == 200, approved.text
    bound = api.post("/api/v1/certificates", {"company_name": COMPANY, "algorithm": "dual"},
                     headers=admin)
    assert bound.status_code == 201, bound.text
    limit = {"max_uses": max_uses} if max_uses is not None else {}
    granted = api.post(f"/api/v1/seals/{seal_id}/grants",
                       {"grantee_type": "user", "grantee_ref": "u-sealer", "reason": "出单用印",
                        "valid_from": utc(minutes=-1), "valid_until": utc(days=1), **limit},
                       headers=admin)
    assert granted.status_code == 201, granted.text
    return seal_id


def sealed_document(api, code: str = "e_policy") -> tuple[dict, dict]:
    """A document filled from ``code`` and sealed by the insurer (dual SM2 + RSA); returns
    (document before sealing, after)."""
    seal_id = ready_seal(api)
    doc = fill(api, code, signers=[{"role": "policyholder", "name": "张伟", "ref": "p-zhangwei"}])
    sealed = api.post(f"/api/v1/documents/{doc['id']}/seal",
                      {"seal_id": seal_id, "company_name": COMPANY, "role": "insurer",
                       "user_ref": "u-sealer", "device": "pytest"}, headers=OP)
    assert sealed.status_code == 201, sealed.text
    return doc, sealed.json()
