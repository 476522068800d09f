"""Helpers of the H5 signing-page tests: an envelope issued through the REST API with a signing
link for one person, and a browser-like client holding that link's session cookie."""
from __future__ import annotations

import json
import re

import httpx

from tests.backend.envelope_testkit import create, person, signer_of
from tests.backend.files_testkit import OP, import_examples, sample

CLAUSES = [{"id": "c1", "title": "责任免除第一条",
            "text": "因投保人、被保险人故意行为造成的损失，保险人不负赔偿责任。"},
           {"id": "c2", "title": "责任免除第二条",
            "text": "战争、军事冲突、暴乱造成的损失，保险人不负赔偿责任。"}]
CHANGES = [{"field": "sum_insured", "label": "保险金额", "old": "10000", "new": "20000"}]


def issue_envelope(api, *, signers: list[dict] | None = None, clauses=CLAUSES, changes=CHANGES,
                   business_no: str = "H5-0001") -> dict:
    """An application form (投保单) for a policyholder, sent."""
    import_examples(api)
    return create(api, {
        "template": "application", "params": sample("application"), "business_no": business_no,
        "clauses": clauses, "changes": changes,
        "signers": signers or [person("policyholder", "张伟", 301, intent="password")]})


def issue_link(api, envelope: dict, role: str = "policyholder") -> dict:
    signer = signer_of(envelope, role)
    response = api.post(f"/api/v1/envelopes/{envelope['id']}/signers/{signer['id']}/link",
                        {}, headers=OP)
    assert response.status_code == 201, response.text
    link = response.json()
    link["token"] = re.fullmatch(r"https?://[^/]+/s/([A-Za-z0-9_-]+)", link["url"]).group(1)
    link["signer"] = signer
    return link


class Phone:
    """A browser session opened from a link: /s/<token> sets the cookie; ``call`` hits the H5
    API of that link (or of another link id, to prove it is refused)."""

    def __init__(self, server: str, link: dict) -> None:
        self.link = link
        self.client = httpx.Client(base_url=server, timeout=60)
        opened = self.client.get(f"/s/{link['token']}", follow_redirects=False)
        assert opened.status_code == 302, opened.text
        assert opened.headers["location"] == f"/h5/links/{link['id']}/start"

    def url(self, tail: str, link_id: str | None = None) -> str:
        return f"/h5/api/links/{link_id or self.link['id']}{tail}"

    def get(self, tail: str, **kw) -> httpx.Response:
        return self.client.get(self.url(tail, kw.pop("link_id", None)), **kw)

    def post(self, tail: str, body: dict | None = None, **kw) -> httpx.Response:
        return self.client.post(self.url(tail, kw.pop("link_id", None)),
                                content=json.dumps(body if body is not None else {}),
                                headers={"Content-Type": "application/json"}, **kw)

    def close(self) -> None:
        self.client.close()


def expect(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:500])
    body = response.json()
    if code is not None:
        assert body["code"] == code, body
    return body


async def last_sms_code(runtime) -> str:
    """The 6-digit code of the latest OTP_CODE message (read from the message store)."""
    from backend.models.message import OutboundMessage

    message = await OutboundMessage.filter(template="OTP_CODE").order_by("-created_at").first()
    assert message is not None, "no OTP_CODE message was queued"
    params = json.loads(runtime.cipher.decrypt(message.params_enc, "message.params"))
    return params["code"]
