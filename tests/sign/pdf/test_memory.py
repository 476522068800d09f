"""Signing streams the input: a large PDF costs a few MB of RSS, not its size."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]

CHILD = textwrap.dedent("""
    import json, pathlib, sys
    from sign.pdf import sign_pdf
    from sign.signers import SoftwareSigner
    d = pathlib.Path(sys.argv[2])
    signer = SoftwareSigner.from_pem((d / "key.pem").read_bytes(), (d / "cert.pem").read_bytes(),
                                     (d / "chain.pem").read_bytes())
    small = d / "small.pdf"
    sign_pdf(small, d / "small-out.pdf", signer)  # warm-up: imports, caches
    def status(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    base = status("VmRSS")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    sign_pdf(sys.argv[1], d / "big-out.pdf", signer)
    print(json.dumps({"base": base, "peak": status("VmHWM")}))
""")


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux /proc")
def test_large_pdf_peak_rss(tmp_path, rsa_identity):
    import pikepdf

    big = tmp_path / "big.pdf"
    pdf = pikepdf.new()
    for _ in range(12):  # 12 pages x 5 MB of incompressible image data
        page = pdf.add_blank_page()
        img = pdf.make_stream(os.urandom(5 * 1024 * 1024), Type=pikepdf.Name.XObject,
                              Subtype=pikepdf.Name.Image, Width=1024, Height=1280,
                              ColorSpace=pikepdf.Name.DeviceRGB, BitsPerComponent=8)
        page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=img))
    pdf.save(big, compress_streams=False)
    del pdf
    size_mb = big.stat().st_size / 2**20
    assert size_mb > 55
    for name, data in (("key.pem", rsa_identity.key_pem), ("cert.pem", rsa_identity.cert_pem),
                       ("chain.pem", rsa_identity.chain_pem)):
        (tmp_path / name).write_bytes(data)
    small = pikepdf.new()
    small.add_blank_page()
    small.save(tmp_path / "small.pdf")
    res = subprocess.run([sys.executable, "-c", CHILD, str(big), str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert res.returncode == 0, res.stderr
    m = json.loads(res.stdout.strip().splitlines()[-1])
    delta_mb = (m["peak"] - m["base"]) / 1024
    assert delta_mb < 20, f"peak RSS grew by {delta_mb:.1f} MB for a {size_mb:.0f} MB PDF"
    assert (tmp_path / "big-out.pdf").read_bytes()[:1000] == big.read_bytes()[:1000]
