"""``python -m sign ltv add|renew`` and ``python -m sign verify --at`` on archived documents."""
from __future__ import annotations

import datetime as dt

import pytest

from sign.certs.pem import dump_certificate, dump_certificates
from sign.cli import main
from sign.tsa import TimeStampAuthority, serve_in_thread

from .ltv_testkit import AFTER_SIGNER, AFTER_TSA1, signed_ofd, signed_pdf


@pytest.fixture()
def tsa_urls(rsa_pki, sm2_pki):
    servers = [serve_in_thread(TimeStampAuthority.from_identity(i))
               for i in (rsa_pki.tsa1, sm2_pki.tsa1, rsa_pki.tsa2)]
    try:
        yield [s.url for s in servers]
    finally:
        for s in servers:
            s.close()


def _files(tmp_path, pki, tag):
    root = tmp_path / f"{tag}_root.pem"
    root.write_bytes(dump_certificate(pki.root))
    chain = tmp_path / f"{tag}_chain.pem"
    chain.write_bytes(dump_certificates(pki.signer.chain))
    crl = tmp_path / f"{tag}.crl"
    crl.write_bytes(pki.h.issuing.crl().dump())
    crl_root = tmp_path / f"{tag}_root.crl"
    crl_root.write_bytes(pki.h.root.crl().dump())
    return root, chain, crl, crl_root


def _iso(t: dt.datetime) -> str:
    return t.isoformat()


def test_cli_add_verify_renew_pdf(tmp_path, rsa_pki, tsa_urls, capsys):
    root, chain, crl, crl_root = _files(tmp_path, rsa_pki, "rsa")
    src, out = tmp_path / "bt.pdf", tmp_path / "lta.pdf"
    src.write_bytes(signed_pdf(rsa_pki))
    assert main(["ltv", "add", str(src), str(out), "--tsa", tsa_urls[0], "--crl", str(crl),
                 "--crl", str(crl_root), "--cert", str(chain)]) == 0
    capsys.readouterr()
    assert main(["verify", str(out), "--trust", str(root), "--at", _iso(AFTER_SIGNER)]) == 0
    text = capsys.readouterr().out
    assert "level B-LTA" in text and "VALID" in text
    assert main(["verify", str(out), "--trust", str(root), "--at", _iso(AFTER_TSA1)]) == 1
    assert "can no longer be trusted" in capsys.readouterr().out
    # not due now: the output is a copy
    renewed = tmp_path / "renewed.pdf"
    assert main(["ltv", "renew", str(out), str(renewed), "--tsa", tsa_urls[0], "--horizon-days", "30"]) == 0
    assert "not due" in capsys.readouterr().out and renewed.read_bytes() == out.read_bytes()
    # due with the default 90 days; renewing with the same short-lived TSA would not help
    assert main(["ltv", "renew", str(out), str(renewed), "--tsa", tsa_urls[0]]) == 1
    assert "tsa_expires_soon" in capsys.readouterr().err
    assert main(["ltv", "renew", str(out), str(renewed), "--tsa", tsa_urls[2]]) == 0
    assert renewed.read_bytes().count(b"/Type /DocTimeStamp") == 2
    # bad input: exit 2, one line
    assert main(["ltv", "add", str(src), str(out), "--tsa", tsa_urls[0], "--crl", str(src)]) == 2


def test_cli_ofd_archive_and_verify(tmp_path, sm2_pki, tsa_urls, capsys):
    root, chain, crl, crl_root = _files(tmp_path, sm2_pki, "sm2")
    src, out = tmp_path / "signed.ofd", tmp_path / "archived.ofd"
    src.write_bytes(signed_ofd(sm2_pki))
    assert main(["ltv", "add", str(src), str(out), "--tsa", tsa_urls[1], "--crl", str(crl),
                 "--crl", str(crl_root), "--cert", str(chain)]) == 0
    assert "archive_1.xml" in capsys.readouterr().out
    assert main(["verify", str(out), "--trust", str(root), "--at", _iso(AFTER_SIGNER), "--json"]) == 0
    import json
    data = json.loads(capsys.readouterr().out)
    assert data["valid"] and [s["level"] for s in data["signatures"]] == ["GM-LTA"]
    # an archived OFD goes the LTV way even without --at
    assert main(["verify", str(out), "--trust", str(root)]) == 0
    assert "level GM-LTA" in capsys.readouterr().out


def test_cli_job(tmp_path, rsa_pki, tsa_urls, capsys):
    import json
    d = tmp_path / "docs"
    d.mkdir()
    (d / "a.pdf").write_bytes(signed_pdf(rsa_pki))          # B-T only: no archive time-stamp yet
    progress = tmp_path / "progress.json"
    assert main(["ltv", "job", str(d), "--tsa", tsa_urls[2], "--progress", str(progress)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["renewed"] == 1 and out["entries"][0]["detail"] == "expires_soon"
    assert main(["ltv", "job", str(d), "--tsa", tsa_urls[2], "--progress", str(progress)]) == 0
    assert json.loads(capsys.readouterr().out)["entries"][0]["status"] == "done_earlier"
