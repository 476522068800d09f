"""``python -m sign sign|verify`` with .ofd files (dispatch in sign.cli / sign.cli_verify)."""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest

from sign.certs.pem import dump_certificate
from sign.cli import main
from sign.ofd import verify_ofd
from sign.seals import make_seal

from .ofd_testkit import KEYWORD, flip, modify, policy_ofd, seal_png


@pytest.fixture()
def files(tmp_path, sm2_identity, ca):
    (tmp_path / "key.pem").write_bytes(sm2_identity.key_pem)
    (tmp_path / "cert.pem").write_bytes(sm2_identity.cert_pem)
    (tmp_path / "chain.pem").write_bytes(sm2_identity.chain_pem)
    (tmp_path / "root.pem").write_bytes(dump_certificate(ca.sm2.root.cert))
    (tmp_path / "seal.png").write_bytes(seal_png())
    (tmp_path / "in.ofd").write_bytes(policy_ofd())
    return tmp_path


def _sign(d, *extra: str, out: str = "out.ofd") -> int:
    return main(["sign", str(d / "in.ofd"), str(d / out), "--key", str(d / "key.pem"), "--cert",
                 str(d / "cert.pem"), "--chain", str(d / "chain.pem"), *extra])


def test_cli_sign_keyword_and_verify(files, capsys):
    assert _sign(files, "--image", str(files / "seal.png"), "--keyword", KEYWORD) == 0
    report = verify_ofd((files / "out.ofd").read_bytes())
    (sig,) = report.signatures
    assert sig.crypto_valid and sig.intact and sig.stamps[0].page == 1
    # --size default 120 pt = 42.33 mm
    assert sig.stamps[0].box[2] == pytest.approx(42.333, abs=0.01)
    capsys.readouterr()
    trust = ["--trust", str(files / "root.pem"), "--trust", str(files / "chain.pem")]
    assert main(["verify", str(files / "out.ofd"), *trust]) == 0
    text = capsys.readouterr().out
    assert "VALID (OFD, 1 signature(s)" in text and "trusted (" in text
    assert main(["verify", str(files / "out.ofd"), "--json", *trust]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["valid"] is True and data["signatures"][0]["format"] == "SES_V4"


def test_cli_rect_in_points(files):
    assert _sign(files, "--image", str(files / "seal.png"), "--rect", "72,72,113.4,113.4", "--page", "1") == 0
    (stamp,) = verify_ofd((files / "out.ofd").read_bytes()).signatures[0].stamps
    x, y, w, h = stamp.box
    assert x == pytest.approx(25.4, abs=0.01) and w == pytest.approx(40.0, abs=0.01)
    assert y == pytest.approx(297 - 25.4 - 40.0, abs=0.01)  # PDF origin bottom-left -> OFD top-left


def test_cli_invisible_and_esl_seal(files, ca, sm2_identity):
    assert _sign(files) == 0
    report = verify_ofd((files / "out.ofd").read_bytes())
    assert report.signatures[0].crypto_valid and report.signatures[0].stamps == ()
    esl = make_seal(name="合同专用章", picture=seal_png(), maker=ca.sm2.issuing.identity(),
                    signer_certs=[sm2_identity.cert])
    (files / "seal.esl").write_bytes(esl)
    assert _sign(files, "--image", str(files / "seal.esl"), "--keyword", KEYWORD, out="esl.ofd") == 0
    report = verify_ofd((files / "esl.ofd").read_bytes(), trust=[ca.sm2.root.cert], intermediates=[ca.sm2.issuing.cert])
    assert report.valid, report.codes
    assert report.signatures[0].seal.name == "合同专用章"


def test_cli_verify_exit_codes(files, capsys):
    assert _sign(files, "--image", str(files / "seal.png"), "--keyword", KEYWORD) == 0
    out = files / "out.ofd"
    tampered = files / "tampered.ofd"
    tampered.write_bytes(modify(out.read_bytes(), "Doc_0/Pages/Page_0/Content.xml", flip))
    assert main(["verify", str(tampered)]) == 1
    assert "REF_CHANGED" in capsys.readouterr().out
    junk = files / "junk.ofd"
    junk.write_bytes(b"not a zip")
    assert main(["verify", str(junk)]) == 2
    assert "not_zip" in capsys.readouterr().err
    assert main(["verify", str(files / "missing.ofd")]) == 2
    assert main(["verify", str(files / "in.ofd")]) == 1  # unsigned
    assert "NOT_SIGNED" in capsys.readouterr().out


def test_cli_sign_errors(files, capsys, rsa_identity):
    assert _sign(files, "--image", str(files / "seal.png"), "--keyword", "没有这个词") == 2
    assert "keyword_not_found" in capsys.readouterr().err
    assert not (files / "out.ofd").exists()
    assert _sign(files, "--alg", "dual") == 2
    (files / "rsa.pem").write_bytes(rsa_identity.key_pem)
    (files / "rsacert.pem").write_bytes(rsa_identity.cert_pem)
    rc = main(["sign", str(files / "in.ofd"), str(files / "o.ofd"), "--key", str(files / "rsa.pem"),
               "--cert", str(files / "rsacert.pem")])
    assert rc == 2 and "signer_error" in capsys.readouterr().err
    (files / "in.ofd").write_bytes(b"junk")
    assert _sign(files) == 2
    assert "not_zip" in capsys.readouterr().err


def test_python_dash_m(files):
    """The real entry point, as a user runs it."""
    assert _sign(files, "--image", str(files / "seal.png"), "--keyword", KEYWORD) == 0
    proc = subprocess.run([sys.executable, "-m", "sign", "verify", str(files / "out.ofd")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "VALID" in proc.stdout
    with zipfile.ZipFile(files / "out.ofd") as zf:
        assert "Doc_0/Signs/Sign_0/SignedValue.dat" in zf.namelist()


def test_cli_verify_corpus(corpus_dir, tmp_path, capsys):
    """ofdrw's files: SES seal signatures verify without help; DigitalSign.ofd (a bare SM2
    signature) with its signer's certificate given by --trust."""
    ofdrw = corpus_dir / "ofdrw"
    assert main(["verify", str(ofdrw / "v4signed.ofd")]) == 0
    assert main(["verify", str(ofdrw / "SESV4SignDoc.ofd")]) == 1  # signed with an expired seal
    assert "SEAL_EXPIRED" in capsys.readouterr().out
    assert main(["verify", str(ofdrw / "DigitalSign.ofd")]) == 1
    assert "NO_SIGNER_CERT" in capsys.readouterr().out
    with zipfile.ZipFile(ofdrw / "SESV4SignDoc.ofd") as zf:
        from sign.seals import parse_ses_signature
        cert = parse_ses_signature(zf.read("Doc_0/Signs/Sign_0/SignedValue.dat")).signer_cert
    (tmp_path / "test.pem").write_bytes(dump_certificate(cert))
    assert main(["verify", str(ofdrw / "DigitalSign.ofd"), "--trust", str(tmp_path / "test.pem")]) == 0
