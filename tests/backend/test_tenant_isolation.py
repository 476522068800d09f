"""A tenant sees and changes only its own rows; another tenant's id looks like a missing one."""
from __future__ import annotations

from backend.client import ApiClient
from backend.models.callback import CallbackEndpoint

BODY = {"url": "https://crm.example.com/hook", "events": ["envelope.completed"]}


async def test_another_tenants_callback_is_invisible(api, server, other_tenant):
    mine = api.post("/api/v1/callbacks", BODY).json()
    with ApiClient(server, other_tenant.app_key, other_tenant.app_secret) as other:
        read = other.get(f"/api/v1/callbacks/{mine['id']}")
        delete = other.delete(f"/api/v1/callbacks/{mine['id']}")
        listing = other.get("/api/v1/callbacks").json()["items"]
    assert read.status_code == delete.status_code == 404
    assert read.json()["code"] == "CALLBACK_NOT_FOUND"
    assert listing == []
    assert (await CallbackEndpoint.get(id=mine["id"])).disabled_at is None


async def test_owner_reads_lists_and_disables(api):
    created = api.post("/api/v1/callbacks", {**BODY, "description": "理赔系统"}).json()
    assert "secret" in created
    read = api.get(f"/api/v1/callbacks/{created['id']}").json()
    assert read["description"] == "理赔系统" and "secret" not in read
    assert [i["id"] for i in api.get("/api/v1/callbacks").json()["items"]] == [created["id"]]
    assert api.delete(f"/api/v1/callbacks/{created['id']}").json()["disabled"] is True
    row = await CallbackEndpoint.get(id=created["id"])
    assert created["secret"] not in row.secret_enc
