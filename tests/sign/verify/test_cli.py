"""``verify`` CLI: exit codes 0/1/2, JSON and plain output, --trust bundles, --at."""
from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys

import verify_testkit as pdfedit
import pytest

from sign import cli_verify


def _run(argv: list[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    cli_verify.add_parser(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["verify", *argv])
    out, err = io.StringIO(), io.StringIO()
    return cli_verify.run(args, out, err), out.getvalue(), err.getvalue()


@pytest.fixture()
def files(tmp_path, pyhanko_rsa_pdf, rsa_identity):
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(pyhanko_rsa_pdf)
    info = pdfedit.page_info(pyhanko_rsa_pdf)
    upd = pdfedit.Update(pyhanko_rsa_pdf)
    upd.put_stream(info["contents"][0], b"BT /F1 14 Tf 72 760 Td (forged) Tj ET")
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(upd.build())
    trust = tmp_path / "chain.pem"
    trust.write_bytes(rsa_identity.chain_pem)
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf")
    return {"signed": signed, "forged": forged, "trust": trust, "junk": junk}


def test_valid_file_exit_0_with_summary(files):
    code, out, _ = _run([str(files["signed"]), "--trust", str(files["trust"])])
    assert code == 0
    assert "VALID" in out and "Signature1" in out and "trusted" in out


def test_modified_file_exit_1_says_what_changed(files):
    code, out, _ = _run([str(files["forged"]), "--trust", str(files["trust"])])
    assert code == 1
    assert "NOT ALLOWED" in out and "PAGE_CONTENT_CHANGED" in out


def test_json_report(files):
    code, out, _ = _run([str(files["forged"]), "--json"])
    data = json.loads(out)
    assert code == 1 and data["valid"] is False
    sig = data["signatures"][0]
    assert sig["modified_after_signing"] and sig["changes_after"][0]["severity"] == "disallowed"


def test_unreadable_input_exit_2(files, tmp_path):
    code, _, err = _run([str(files["junk"])])
    assert code == 2 and "NOT_A_PDF" in err
    code, _, err = _run([str(tmp_path / "missing.pdf")])
    assert code == 2 and "UNREADABLE_FILE" in err


def test_at_outside_validity_exit_1(files):
    code, out, _ = _run([str(files["signed"]), "--trust", str(files["trust"]),
                         "--at", "2099-01-01T00:00:00Z"])
    assert code == 1 and "EXPIRED" in out


def test_untrusted_exit_1(files, tmp_path):
    from sign.certs.ca import create_hierarchy
    from sign.certs.pem import dump_certificate
    other = tmp_path / "other.pem"
    other.write_bytes(dump_certificate(create_hierarchy("rsa2048", org="Other").root.cert))
    code, out, _ = _run([str(files["signed"]), "--trust", str(other)])
    assert code == 1 and "UNTRUSTED_ROOT" in out


def test_python_m_sign_verify(files):
    res = subprocess.run([sys.executable, "-m", "sign", "verify", str(files["signed"]),
                          "--trust", str(files["trust"]), "--json"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["valid"] is True
    res = subprocess.run([sys.executable, "-m", "sign", "verify", str(files["junk"])],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "Traceback" not in res.stderr
