"""Anti-counterfeit print [防伪打印]: the print copy's QR code decodes to {base}/v/{code}; that
public page (no login) shows the hash, masked names and the live status."""
from __future__ import annotations

import httpx

from documents.print_copy import read_qr_matrix
from tests.backend.files_testkit import OP, fill, import_examples, pdftotext, render, sealed_document


def _decode_qr(pdf: bytes) -> str:
    import zxingcpp

    found = zxingcpp.read_barcodes(render(pdf, 200))
    assert found, "no QR code found on the rendered page"
    return found[0].text


def test_the_print_copy_qr_opens_the_public_verification_page(fapi, files_server):
    import_examples(fapi)
    _, doc = sealed_document(fapi)
    response = fapi.get(f"/api/v1/documents/{doc['id']}/print-copy", headers=OP)
    assert response.status_code == 200, response.text
    code = response.headers["X-Short-Code"]
    assert code == doc["short_code"]
    url = _decode_qr(response.content)
    assert url == f"{files_server}/v/{code}"
    assert read_qr_matrix(response.content)[0] == code
    assert code in pdftotext(response.content)
    page = httpx.get(url)           # no login
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert doc["current"]["sha256"] in page.text and "已签署" in page.text
    assert "张*" in page.text and "张伟" not in page.text
    info = httpx.get(url, params={"format": "json"}).json()
    assert info["status"] == "signed" and info["valid"] is True
    assert info["sha256"] == doc["current"]["sha256"] and info["sm3"] == doc["current"]["sm3"]
    assert info["signers"] == [{"role": "policyholder", "name": "张*"}]
    assert [s["algorithm"] for s in info["signatures"]] == ["sm2", "rsa"]
    assert all(s["valid"] for s in info["signatures"])
    voided = fapi.post(f"/api/v1/documents/{doc['id']}/void", {"reason": "退保"}, headers=OP)
    assert voided.status_code == 200
    page = httpx.get(url)
    assert "已作废" in page.text and "data-status='voided'" in page.text
    assert httpx.get(url, params={"format": "json"}).json()["valid"] is False


def test_a_superseded_document_says_so(api, server):
    import_examples(api)
    old, new = fill(api, "receipt", title="张伟的保单回执"), fill(api, "receipt")
    api.post(f"/api/v1/documents/{old['id']}/void", {"reason": "换发", "superseded_by": new["id"]},
             headers=OP)
    info = httpx.get(f"{server}/v/{old['short_code']}", params={"format": "json"}).json()
    assert info["status"] == "superseded" and "替代" in info["status_text"]
    assert info["signatures"] == [] and info["valid"] is False
    page = httpx.get(f"{server}/v/{old['short_code']}").text
    assert "张伟" not in page and "张伟" not in str(info)   # the free title is not shown


def test_an_unknown_code_is_404(server):
    page = httpx.get(f"{server}/v/AAAAAAAAAA")
    assert page.status_code == 404 and "VERIFICATION_CODE_UNKNOWN" in page.text
    assert httpx.get(f"{server}/v/AAAAAAAAAA", params={"format": "json"}).json()["code"] == \
        "VERIFICATION_CODE_UNKNOWN"
    assert httpx.get(f"{server}/v/not-a-code").status_code == 404


def test_every_page_of_a_longer_document_carries_the_qr_code(api, server):
    import pikepdf
    import io

    clauses = "".join(f"<p>第{i}条 保险责任：本合同约定的保险事故发生时，保险人按照约定给付保险金。"
                      "被保险人应当如实告知，否则保险人有权解除合同。</p>" for i in range(1, 61))
    html = (f"<h1>长期护理保险条款</h1>{clauses}<div class='row'><label>投保人"
            "<input name='holder'></label></div>"
            "<div class='signatures'><span data-role='policyholder'>投保人签名</span></div>")
    created = api.post("/api/v1/templates", {"code": "ltc_terms", "title": "长期护理保险条款",
                                             "html": html, "publish": True}, headers=OP)
    assert created.status_code == 201, created.text
    doc = fill(api, "ltc_terms", {"holder": "张伟"}, headers={**OP, "X-Operator-Unit": "hq"})
    copy = api.get(f"/api/v1/documents/{doc['id']}/print-copy",
                   headers={**OP, "X-Operator-Unit": "hq"}).content
    pages = len(pikepdf.open(io.BytesIO(copy)).pages)
    assert pages >= 2
    for page in range(1, pages + 1):
        assert read_qr_matrix(copy, page)[0] == doc["short_code"]
    import zxingcpp

    found = zxingcpp.read_barcodes(render(copy, 200, page=pages))
    assert found and found[0].text == f"{server}/v/{doc['short_code']}"


def test_the_public_page_is_rate_limited_per_address(server, db):
    import httpx as _httpx

    codes = [_httpx.get(f"{server}/v/AAAAAAAAAA", params={"format": "json"}).status_code
             for _ in range(62)]
    assert codes[0] == 404 and codes[-1] == 429
