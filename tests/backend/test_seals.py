"""Seal management through the API: making, life cycle, grants, use, risk alerts, certificates."""
from __future__ import annotations

import base64
import datetime as dt
import io

import pytest
from PIL import Image

from backend.models.audit import AuditEntry
from backend.models.seal import RiskAlert, Seal, SealGrant, SealUse, SealVersion
from sign.seals.gbt38540 import parse_seal, verify_seal

OP = {"X-Operator": "sec-admin-01"}


@pytest.fixture(autouse=True)
async def security_admins(tenant):
    """Headquarters' security administrator (OP), a Shanghai branch one, and a plain user."""
    from backend.models.admin import AdminRole
    from backend.models.org import Unit, User

    hq = await Unit.create(tenant_id=tenant.tenant_id, kind="hq", name="总公司", push_id="hq")
    sh = await Unit.create(tenant_id=tenant.tenant_id, kind="branch", name="上海分公司",
                           push_id="SH", parent=hq)
    for ref, unit, role in (("sec-admin-01", hq, "security"), ("sec-sh", sh, "security"),
                            ("sys-admin", hq, "system"), ("clerk", sh, None)):
        user = await User.create(tenant_id=tenant.tenant_id, unit=unit, name=ref, push_id=ref)
        if role:
            await AdminRole.create(tenant_id=tenant.tenant_id, user=user, role=role)
COMPANY = "测试人寿保险股份有限公司"


def utc(**delta) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(**delta)).isoformat()


def make(api, **overrides) -> dict:
    body = {"kind": "official", "name": COMPANY, **overrides}
    response = api.post("/api/v1/seals", body, headers=OP)
    assert response.status_code == 201, response.text
    return response.json()


def act(api, seal_id: str, action: str, reason: str = "经审批同意"):
    return api.post(f"/api/v1/seals/{seal_id}/transitions", {"action": action, "reason": reason},
                    headers=OP)


def active_seal(api, **overrides) -> dict:
    seal = make(api, **overrides)
    assert act(api, seal["id"], "approve").status_code == 200
    return seal


def grant(api, seal_id: str, **overrides):
    body = {"grantee_type": "user", "grantee_ref": "u-agent-1", "valid_from": utc(minutes=-1),
            "valid_until": utc(days=30), "reason": "理赔部用印", **overrides}
    return api.post(f"/api/v1/seals/{seal_id}/grants", body, headers=OP)


def use(api, seal_id: str, **overrides):
    body = {"user_ref": "u-agent-1", "document_ref": "policy-001", "document_type": "e_policy",
            "device": "iPhone-1", "region": "上海", **overrides}
    return api.post(f"/api/v1/seals/{seal_id}/uses", body)


async def test_a_generated_official_seal_is_pending_with_png_black_copy_and_seseal(api):
    seal = make(api)
    assert seal["status"] == "pending" and seal["usable"] is False and seal["version"] == 1
    png = api.get(f"/api/v1/seals/{seal['id']}/image")
    image = Image.open(io.BytesIO(png.content))
    assert png.headers["content-type"] == "image/png" and image.mode == "RGBA"
    black = Image.open(io.BytesIO(api.get(f"/api/v1/seals/{seal['id']}/image",
                                          params={"style": "black"}).content)).convert("RGBA")
    assert not any(r > 150 and g < 100 and a > 0 for r, g, b, a in black.getdata())
    der = api.get(f"/api/v1/seals/{seal['id']}/seseal").content
    info = parse_seal(der)
    assert info.name == COMPANY and info.es_id == seal["id"]
    assert verify_seal(der).valid
    assert await AuditEntry.filter(action="seal.make").count() == 1


def test_an_uploaded_photo_becomes_a_clean_red_seal(api):
    photo = Image.new("RGB", (600, 600), (245, 243, 238))
    from PIL import ImageDraw

    ImageDraw.Draw(photo).ellipse((100, 100, 500, 500), outline=(200, 30, 40), width=18)
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=80)
    seal = make(api, image_base64=base64.b64encode(buf.getvalue()).decode())
    assert seal["source"] == "uploaded"
    image = Image.open(io.BytesIO(api.get(f"/api/v1/seals/{seal['id']}/image").content))
    assert image.getpixel((0, 0))[3] == 0  # transparent background


@pytest.mark.parametrize("body, code", [
    ({"image_base64": base64.b64encode(b"not an image").decode()}, "SEAL_IMAGE_INVALID"),
    ({"name": "非常长的公司名称" * 7}, "SEAL_TEXT_TOO_LONG"),
    ({"image_base64": "@@@"}, "IMAGE_BASE64_INVALID"),
])
async def test_bad_seal_input_is_refused_and_nothing_stored(api, body, code):
    response = api.post("/api/v1/seals", {"kind": "official", "name": COMPANY, **body}, headers=OP)
    assert response.status_code == 422 and response.json()["code"] == code, response.text
    assert await Seal.all().count() == 0


def test_the_operator_is_required(api):
    response = api.post("/api/v1/seals", {"kind": "official", "name": COMPANY})
    assert response.status_code == 422 and response.json()["code"] == "OPERATOR_REQUIRED"


async def test_the_life_cycle_and_its_guards(api):
    seal = make(api)
    assert act(api, seal["id"], "suspend").json()["code"] == "SEAL_TRANSITION_INVALID"
    assert act(api, seal["id"], "approve").json()["status"] == "active"
    assert act(api, seal["id"], "suspend").json()["status"] == "suspended"
    assert act(api, seal["id"], "resume").json()["status"] == "active"
    assert act(api, seal["id"], "revoke").json()["status"] == "revoked"
    for action in ("approve", "resume", "suspend", "revoke"):
        response = act(api, seal["id"], action)
        assert response.status_code == 409 and response.json()["code"] == "SEAL_TRANSITION_INVALID"
    assert act(api, make(api)["id"], "approve", reason="").json()["code"] == "REASON_REQUIRED"
    actions = [e.action async for e in AuditEntry.filter(target=f"seal:{seal['id']}").order_by("seq")]
    assert actions == ["seal.make", "seal.approve", "seal.suspend", "seal.resume", "seal.revoke"]


async def test_a_change_makes_a_new_version_and_keeps_the_old_one(api):
    seal = active_seal(api)
    changed = api.post(f"/api/v1/seals/{seal['id']}/versions",
                       {"reason": "公司更名", "name": "新测试人寿保险股份有限公司"}, headers=OP)
    assert changed.status_code == 201 and changed.json()["version"] == 2
    versions = await SealVersion.filter(seal_id=seal["id"]).order_by("version")
    assert [v.name for v in versions] == [COMPANY, "新测试人寿保险股份有限公司"]


async def test_use_needs_an_active_seal_and_a_matching_grant(api):
    seal = active_seal(api)
    refused = use(api, seal["id"])
    assert refused.status_code == 403 and refused.json()["details"]["reason"] == "NO_VALID_GRANT"
    assert grant(api, seal["id"]).status_code == 201
    allowed = use(api, seal["id"])
    assert allowed.status_code == 201 and allowed.json()["result"] == "allowed"
    assert use(api, seal["id"], user_ref="someone-else").status_code == 403
    assert await SealUse.filter(result="refused").count() == 2


async def test_grants_by_role_unit_document_type_and_count(api):
    seal = active_seal(api)
    grant(api, seal["id"], grantee_type="role", grantee_ref="claims_manager",
          document_types=["claim_form"], max_uses=2)
    grant(api, seal["id"], grantee_type="unit", grantee_ref="branch-sh", flows=["endorsement"])
    assert use(api, seal["id"], user_ref="x", roles=["claims_manager"],
               document_type="claim_form").status_code == 201
    assert use(api, seal["id"], user_ref="x", roles=["claims_manager"],
               document_type="e_policy").status_code == 403
    assert use(api, seal["id"], user_ref="y", roles=["claims_manager"],
               document_type="claim_form").status_code == 201
    assert use(api, seal["id"], user_ref="z", roles=["claims_manager"],
               document_type="claim_form").status_code == 403  # max_uses reached
    assert use(api, seal["id"], user_ref="w", unit_ref="branch-sh", flow="endorsement").status_code == 201


async def test_a_revoked_grant_stops_at_once(api):
    seal = active_seal(api)
    granted = grant(api, seal["id"]).json()
    assert use(api, seal["id"]).status_code == 201
    revoked = api.post(f"/api/v1/seal-grants/{granted['id']}/revoke", {"reason": "离职"}, headers=OP)
    assert revoked.json()["revoked"] is True
    assert use(api, seal["id"]).status_code == 403


@pytest.mark.parametrize("overrides, code", [
    ({"valid_until": utc(days=-1), "valid_from": utc(days=-2)}, "GRANT_INVALID"),
    ({"valid_until": utc(days=1), "valid_from": utc(days=2)}, "GRANT_INVALID"),
    ({"valid_until": utc(days=9000)}, "GRANT_INVALID"),
    ({"grantee_type": "planet"}, "VALIDATION_FAILED"),
])
async def test_invalid_grants_are_refused(api, overrides, code):
    seal = active_seal(api)
    response = grant(api, seal["id"], **overrides)
    assert response.status_code == 422 and response.json()["code"] == code, response.text
    assert await SealGrant.all().count() == 0


def test_overlapping_grants_are_refused(api):
    seal = active_seal(api)
    assert grant(api, seal["id"]).status_code == 201
    overlapping = grant(api, seal["id"], valid_from=utc(days=10), valid_until=utc(days=40))
    assert overlapping.status_code == 409 and overlapping.json()["code"] == "GRANT_OVERLAPS"


async def test_a_suspended_seal_cannot_sign_and_the_attempt_raises_an_alert(api):
    seal = active_seal(api)
    grant(api, seal["id"])
    act(api, seal["id"], "suspend")
    refused = use(api, seal["id"])
    assert refused.status_code == 403 and refused.json()["details"]["reason"] == "SEAL_SUSPENDED"
    alerts = api.get("/api/v1/risk-alerts", params={"status": "open"}).json()["items"]
    assert [a["rule"] for a in alerts] == ["disabled_seal_attempt"]
    assert alerts[0]["severity"] == "high"


async def test_new_device_and_region_raise_alerts_that_can_be_handled(api):
    seal = active_seal(api)
    grant(api, seal["id"])
    use(api, seal["id"])
    use(api, seal["id"], device="Unknown-Android", region="境外")
    rules = {a.rule async for a in RiskAlert.all()}
    assert {"new_device", "new_region"} <= rules
    alert = await RiskAlert.filter(rule="new_region").first()
    ack = api.post(f"/api/v1/risk-alerts/{alert.id}", {"action": "acknowledge", "note": "已核实"},
                   headers=OP)
    assert ack.json()["status"] == "acknowledged"
    done = api.post(f"/api/v1/risk-alerts/{alert.id}", {"action": "resolve", "note": "出差用印"},
                    headers=OP)
    assert done.json()["status"] == "resolved" and done.json()["handled_by"] == "user:sec-admin-01"
    again = api.post(f"/api/v1/risk-alerts/{alert.id}", {"action": "resolve", "note": "再次"},
                     headers=OP)
    assert again.status_code == 409


def test_certificate_binding_issues_sm2_and_rsa_with_expiry_info(api):
    bound = api.post("/api/v1/certificates", {"company_name": COMPANY, "uscc": "91350100M000100Y43",
                                              "algorithm": "dual"}, headers=OP)
    assert bound.status_code == 201, bound.text
    body = bound.json()
    assert body["algorithm"] == "dual" and body["sm2_certificate"] and body["rsa_certificate"]
    assert body["days_left"] > 365 and body["expiry_warning"] is False
    listed = api.get("/api/v1/certificates", params={"company": COMPANY}).json()["items"]
    assert [b["id"] for b in listed] == [body["id"]]


def test_another_tenants_seal_is_invisible(api, server, other_tenant):
    from backend.client import ApiClient

    seal = active_seal(api)
    with ApiClient(server, other_tenant.app_key, other_tenant.app_secret) as other:
        assert other.get(f"/api/v1/seals/{seal['id']}").status_code == 404
        assert act(other, seal["id"], "revoke").status_code == 403  # no admin there
        assert use(other, seal["id"]).status_code == 404
    assert api.get(f"/api/v1/seals/{seal['id']}").json()["status"] == "active"


def blank_pdf_with(text: str) -> bytes:
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    pdf.pages[0].Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    pdf.pages[0].Contents = pdf.make_stream(f"BT /F1 14 Tf 72 700 Td ({text}) Tj ET".encode())
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def apply(api, seal_id: str, pdf: bytes, **overrides):
    body = {"user_ref": "u-agent-1", "document_ref": "policy-001", "company_name": COMPANY,
            "pdf_base64": base64.b64encode(pdf).decode(), "keyword": "Insurer seal", **overrides}
    return api.post(f"/api/v1/seals/{seal_id}/apply", body)


async def test_applying_a_seal_signs_with_sm2_and_rsa_and_verifies_independently(api, tmp_path):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from sign.certs.pem import load_certificates
    from sign.verify import verify

    api.post("/api/v1/certificates", {"company_name": COMPANY, "algorithm": "dual"}, headers=OP)
    seal = active_seal(api)
    grant(api, seal["id"])
    original = blank_pdf_with("Insurer seal")
    response = apply(api, seal["id"], original)
    assert response.status_code == 201, response.text
    body = response.json()
    signed = base64.b64decode(body["pdf_base64"])
    assert signed.startswith(original) and body["algorithms"] == ["sm2", "rsa"]
    report = verify(signed)
    assert [s.algorithm for s in report.signatures] == ["sm2", "rsa"]
    assert all(s.intact and s.crypto_valid for s in report.signatures)
    chain = load_certificates(api.get("/api/v1/certificates").json()["items"][0]["rsa_certificate"].encode())
    reader = PdfFileReader(io.BytesIO(signed))
    status = await async_validate_pdf_signature(reader.embedded_signatures[1],
                                                ValidationContext(trust_roots=[chain[-1]],
                                                                  other_certs=chain,
                                                                  allow_fetching=False))
    assert status.intact and status.valid
    assert await AuditEntry.filter(action="seal.applied").count() == 1
    from backend.models.callback_delivery import CallbackEvent

    event = await CallbackEvent.get(type="seal.used")
    assert event.data["sha256"] == body["sha256"] and event.data["algorithms"] == ["sm2", "rsa"]


def test_a_suspended_seal_is_refused_before_anything_is_signed(api):
    api.post("/api/v1/certificates", {"company_name": COMPANY, "algorithm": "sm2"}, headers=OP)
    seal = active_seal(api)
    grant(api, seal["id"])
    act(api, seal["id"], "suspend")
    response = apply(api, seal["id"], blank_pdf_with("Insurer seal"))
    assert response.status_code == 403 and response.json()["code"] == "SEAL_USE_REFUSED"
    assert response.json()["details"]["reason"] == "SEAL_SUSPENDED"


def test_applying_without_a_bound_certificate_is_refused(api):
    seal = active_seal(api)
    grant(api, seal["id"])
    response = apply(api, seal["id"], blank_pdf_with("Insurer seal"))
    assert response.status_code == 404 and response.json()["code"] == "CERTIFICATE_BINDING_NOT_FOUND"


async def test_physical_seals_and_ukeys_are_registered_and_their_use_logged(api):
    seal = active_seal(api)
    device = api.post("/api/v1/seal-devices", {"kind": "physical", "serial": "GZ-0001",
                                               "holder": "综合部", "seal_id": seal["id"]},
                      headers=OP)
    assert device.status_code == 201
    again = api.post("/api/v1/seal-devices", {"kind": "physical", "serial": "GZ-0001"}, headers=OP)
    assert again.status_code == 409 and again.json()["code"] == "DEVICE_EXISTS"
    used = api.post(f"/api/v1/seal-devices/{device.json()['id']}/uses",
                    {"user_ref": "u-1", "document_ref": "paper-contract-9"}, headers=OP)
    assert used.status_code == 201 and used.json()["device"] == "physical:GZ-0001"
    log = api.get(f"/api/v1/seals/{seal['id']}/uses").json()["items"]
    assert [u["document_ref"] for u in log] == ["paper-contract-9"]


async def test_high_risk_alerts_are_sent_through_notify(api, server, db, test_env, tmp_path):
    """A server configured with RISK_ALERT_NOTIFY queues a RISK_ALERT message per alert."""
    from backend.models.message import OutboundMessage
    from tests.conftest import start_server, stop_server

    proc, url = start_server({**test_env, "RISK_ALERT_NOTIFY": "local:security-duty"},
                             tmp_path / "log")
    try:
        from backend.client import ApiClient

        with ApiClient(url, api.app_key, api.app_secret) as alerting:
            seal = active_seal(alerting)
            grant(alerting, seal["id"])
            act(alerting, seal["id"], "suspend")
            assert use(alerting, seal["id"]).status_code == 403
    finally:
        stop_server(proc)
    message = await OutboundMessage.get(template="RISK_ALERT")
    assert message.channel == "local" and message.recipient_masked


@pytest.mark.parametrize("who", ["sys-admin", "clerk", "nobody"])
async def test_only_security_administrators_manage_seals(api, who):
    response = api.post("/api/v1/seals", {"kind": "official", "name": COMPANY},
                        headers={"X-Operator": who})
    assert response.status_code == 403 and response.json()["code"] == "SEAL_ADMIN_REQUIRED"
    assert await Seal.all().count() == 0


async def test_a_branch_administrator_manages_only_its_units_seals(api):
    branch = {"X-Operator": "sec-sh"}
    own = api.post("/api/v1/seals", {"kind": "contract", "name": "上海分公司", "unit": "SH"},
                   headers=branch)
    assert own.status_code == 201
    assert api.post(f"/api/v1/seals/{own.json()['id']}/transitions",
                    {"action": "approve", "reason": "分公司审批"}, headers=branch).status_code == 200
    hq_seal = make(api)
    refused = api.post(f"/api/v1/seals/{hq_seal['id']}/transitions",
                       {"action": "approve", "reason": "越权"}, headers=branch)
    assert refused.status_code == 403 and refused.json()["code"] == "SEAL_UNIT_FORBIDDEN"
    other_unit = api.post("/api/v1/seals", {"kind": "official", "name": COMPANY, "unit": "hq"},
                          headers=branch)
    assert other_unit.status_code == 403
    certs = api.post("/api/v1/certificates", {"company_name": COMPANY}, headers=branch)
    assert certs.status_code == 403


@pytest.mark.parametrize("kind, name", [("contract", COMPANY), ("finance", COMPANY),
                                        ("legal_rep", "张三丰"), ("personal", "李四")])
def test_every_seal_kind_is_generated_from_text(api, kind, name):
    seal = make(api, kind=kind, name=name)
    png = api.get(f"/api/v1/seals/{seal['id']}/image").content
    image = Image.open(io.BytesIO(png))
    assert image.mode == "RGBA" and image.getpixel((0, 0))[3] == 0
    assert parse_seal(api.get(f"/api/v1/seals/{seal['id']}/seseal").content).name == name
