"""``python -m sign sign|keygen``: single file, dual, visible, batch, errors and exit codes."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pikepdf
import pytest

from sign.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _pdf(path: pathlib.Path, pages: int = 1) -> pathlib.Path:
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page()
    pdf.save(path)
    return path


def _png(path: pathlib.Path) -> pathlib.Path:
    from PIL import Image
    Image.new("RGBA", (40, 40), (255, 0, 0, 128)).save(path)
    return path


def _write_identity(ident, d: pathlib.Path) -> list[str]:
    d.mkdir(parents=True, exist_ok=True)
    (d / "key.pem").write_bytes(ident.key_pem)
    (d / "cert.pem").write_bytes(ident.cert_pem)
    (d / "chain.pem").write_bytes(ident.chain_pem)
    return ["--key", str(d / "key.pem"), "--cert", str(d / "cert.pem"),
            "--chain", str(d / "chain.pem")]


@pytest.fixture(scope="module")
def rsa_args(rsa_identity, tmp_path_factory):
    return _write_identity(rsa_identity, tmp_path_factory.mktemp("rsa"))


@pytest.fixture(scope="module")
def sm2_args(sm2_identity, tmp_path_factory):
    return _write_identity(sm2_identity, tmp_path_factory.mktemp("sm2"))


def _fields(path):
    with pikepdf.open(path) as pdf:
        return [(str(f.T), str(f.V.SubFilter)) for f in pdf.Root.AcroForm.Fields]


def test_sign_single_rsa_and_sm2(tmp_path, rsa_args, sm2_args):
    src = _pdf(tmp_path / "in.pdf")
    assert main(["sign", str(src), str(tmp_path / "r.pdf"), *rsa_args, "--reason", "同意"]) == 0
    assert _fields(tmp_path / "r.pdf") == [("Signature1", "/ETSI.CAdES.detached")]
    assert main(["sign", str(src), str(tmp_path / "s.pdf"), *sm2_args, "--alg", "sm2"]) == 0
    assert _fields(tmp_path / "s.pdf") == [("Signature1", "/adbe.pkcs7.detached")]


def test_sign_dual_visible(tmp_path, rsa_args, sm2_args):
    src = _pdf(tmp_path / "in.pdf", pages=2)
    png = _png(tmp_path / "seal.png")
    out = tmp_path / "dual.pdf"
    rc = main(["sign", str(src), str(out), "--alg", "dual", *sm2_args, *rsa_args,
               "--image", str(png), "--page", "2", "--rect", "100,100,80,80"])
    assert rc == 0
    assert _fields(out) == [("Signature1", "/adbe.pkcs7.detached"),
                            ("Signature2", "/ETSI.CAdES.detached")]
    with pikepdf.open(out) as pdf:
        [w] = pdf.pages[1].Annots
        assert [float(v) for v in w.Rect] == [100, 100, 180, 180]


def test_usage_errors_exit_2(tmp_path, rsa_args, sm2_args, capsys):
    src = _pdf(tmp_path / "in.pdf")
    out = str(tmp_path / "o.pdf")
    assert main(["sign", str(src), out, *rsa_args, "--image", "x.png"]) == 2
    assert main(["sign", str(src), out, *rsa_args, "--alg", "dual"]) == 2
    assert main(["sign", str(src), out, *rsa_args, "--alg", "sm2"]) == 2
    assert main(["sign", str(src), out, *sm2_args, *rsa_args, "--alg", "rsa"]) == 2
    assert main(["sign", str(tmp_path / "missing.pdf"), out, *rsa_args]) == 2
    assert main(["sign", str(src), out, "--key", "/nonexistent", "--cert", "/nonexistent"]) == 2
    assert main(["sign", str(src), out, *rsa_args, "--rect", "1,2,3"]) == 2  # argparse
    assert main(["nonsense"]) == 2
    png = _png(tmp_path / "s.png")
    assert main(["sign", str(src), out, *rsa_args, "--image", str(png), "--page", "5",
                 "--rect", "0,0,10,10"]) == 2
    assert main(["sign", str(src), out, *rsa_args, "--image", str(png), "--keyword", "签名"]) == 2
    err = capsys.readouterr().err
    assert "[page_out_of_range]" in err and "[keyword_not_found]" in err
    assert "Traceback" not in err
    assert not os.path.exists(out)


def test_bad_pdf_no_traceback_subprocess(tmp_path, rsa_args):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7\n garbage without xref")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-m", "sign", "sign", str(bad), str(tmp_path / "o.pdf"),
                          *rsa_args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert res.returncode == 2
    assert "[truncated_pdf]" in res.stderr and "Traceback" not in res.stderr


def test_batch_skips_bad_files(tmp_path, sm2_args):
    in_dir = tmp_path / "in"
    (in_dir / "sub").mkdir(parents=True)
    for i in range(6):
        _pdf(in_dir / f"d{i}.pdf")
    _pdf(in_dir / "sub" / "nested.pdf")
    (in_dir / "broken.pdf").write_bytes(b"not a pdf")
    (in_dir / "notes.txt").write_text("ignored")
    out_dir = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-m", "sign", "sign", str(in_dir), str(out_dir),
                          *sm2_args, "--jobs", "2"], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=120)
    assert res.returncode == 1  # one document failed, the batch went on
    assert "signed 7/8 documents" in res.stdout and "documents/s" in res.stdout
    assert "broken.pdf: [not_pdf]" in res.stderr and "Traceback" not in res.stderr
    signed = sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*.pdf"))
    assert signed == [f"d{i}.pdf" for i in range(6)] + ["sub/nested.pdf"]
    assert _fields(out_dir / "sub" / "nested.pdf") == [("Signature1", "/adbe.pkcs7.detached")]


def test_batch_single_job_all_ok(tmp_path, rsa_args, capsys):
    in_dir = tmp_path / "in"
    in_dir.mkdir()
    for i in range(3):
        _pdf(in_dir / f"d{i}.pdf")
    assert main(["sign", str(in_dir), str(tmp_path / "out"), *rsa_args, "--jobs", "1"]) == 0
    assert "signed 3/3 documents" in capsys.readouterr().out


def test_keygen_then_sign(tmp_path):
    ca_dir, out = tmp_path / "ca", tmp_path / "keys"
    for alg in ("rsa", "sm2"):
        assert main(["keygen", "--alg", alg, "--subject", "CN=张三,O=测试保险,serialNumber=123",
                     "--out", str(out / alg), "--ca-dir", str(ca_dir)]) == 0
    # the CA is created once and reused
    assert main(["keygen", "--alg", "rsa", "--subject", "CN=李四", "--out", str(out / "rsa2"),
                 "--ca-dir", str(ca_dir)]) == 0
    assert (out / "rsa" / "chain.pem").read_bytes() == (out / "rsa2" / "chain.pem").read_bytes()
    src = _pdf(tmp_path / "in.pdf")
    args = []
    for alg in ("sm2", "rsa"):
        d = out / alg
        args += ["--key", str(d / "key.pem"), "--cert", str(d / "cert.pem"),
                 "--chain", str(d / "chain.pem")]
    assert main(["sign", str(src), str(tmp_path / "o.pdf"), "--alg", "dual", *args]) == 0
    assert main(["keygen", "--alg", "rsa", "--subject", "garbage", "--out", str(out)]) == 2


def test_sign_then_verify_subcommand(tmp_path, rsa_args, sm2_args, rsa_identity, capsys):
    pytest.importorskip("sign.cli_verify", reason="verify subcommand not available")
    src = _pdf(tmp_path / "in.pdf")
    out = tmp_path / "dual.pdf"
    assert main(["sign", str(src), str(out), "--alg", "dual", *sm2_args, *rsa_args]) == 0
    capsys.readouterr()
    assert main(["verify", str(out)]) == 0
    report = capsys.readouterr().out
    assert "VALID (2 signature(s)" in report


def test_sign_existing_template_field(tmp_path, rsa_args):
    src = tmp_path / "tpl.pdf"
    pdf = pikepdf.new()
    page = pdf.add_blank_page()
    field = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, FT=pikepdf.Name.Sig,
        T=pikepdf.String("投保人"), Rect=[50, 50, 150, 100], P=page.obj))
    page.obj.Annots = [field]
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=[field])
    pdf.save(src)
    out = tmp_path / "out.pdf"
    png = _png(tmp_path / "seal.png")
    assert main(["sign", str(src), str(out), *rsa_args, "--field", "投保人", "--image", str(png)]) == 0
    with pikepdf.open(out) as pdf:
        [f] = pdf.Root.AcroForm.Fields
        assert str(f.T) == "投保人" and "/V" in f and "/AP" in f


def test_keyword_and_tsa(tmp_path, rsa_args, rsa_identity, tsa_server_url):
    src = tmp_path / "kw.pdf"
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595, 842))
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.obj.Contents = pdf.make_stream(b"BT /F1 12 Tf 100 300 Td (Signature of the insured) Tj ET")
    pdf.save(src)
    out = tmp_path / "out.pdf"
    png = _png(tmp_path / "seal.png")
    rc = main(["sign", str(src), str(out), *rsa_args, "--image", str(png), "--keyword", "insured",
               "--size", "60,40", "--offset", "0,30", "--tsa", tsa_server_url,
               "--reason", "投保确认", "--certify", "2"])
    assert rc == 0
    with pikepdf.open(out) as pdf:
        [w] = pdf.pages[0].Annots
        x0, y0, x1, y1 = [float(v) for v in w.Rect]
        assert (x1 - x0, y1 - y0) == pytest.approx((60, 40))
        assert 100 < (x0 + x1) / 2 < 300 and y0 > 300
        sig = w.V
        assert "/DocMDP" in pdf.Root.Perms and str(sig.Reason) == "投保确认"
    from asn1crypto import cms
    with pikepdf.open(out) as pdf:
        der = bytes(pdf.Root.AcroForm.Fields[0].V.Contents)
    si = cms.ContentInfo.load(der, strict=False)["content"]["signer_infos"][0]
    assert [a["type"].native for a in si["unsigned_attrs"]] == ["signature_time_stamp_token"]
