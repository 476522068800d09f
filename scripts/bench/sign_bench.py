#!/usr/bin/env python
"""Benchmark of the PDF signer (not a test).

Signs a generated 1-page and 100-page PDF N times each, on one core, in one process:

* ours: RSA (PAdES B-B), SM2 (GM/T 0010), dual (SM2 then RSA): ``sign.pdf.sign_pdf``;
* pyHanko 0.38 RSA: the stock ``SimpleSigner`` (loaded once; it re-parses the key on every
  signature) and the same signer with the parsed key cached.

Prints documents/second and the ratio to pyHanko, and writes JSON
(``bench-results/sign_bench.json`` or ``--json PATH``). ``--big`` also measures the peak RSS
above baseline while signing a 200 MB PDF (in a child process; goal < 100 MB).

    .venv/bin/python scripts/bench/sign_bench.py [-n 300] [--big] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import pikepdf  # noqa: E402


# ------------------------------------------------------------------------------ inputs
def make_pdf(path: pathlib.Path, pages: int) -> None:
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    for i in range(pages):
        p = pdf.add_blank_page(page_size=(595, 842))
        lines = "\n".join(f"BT /F1 11 Tf 60 {800 - 14 * j} Td (Policy clause {i}.{j}: lorem ipsum"
                          f" dolor sit amet) Tj ET" for j in range(50))
        p.obj.Contents = pdf.make_stream(lines.encode())
        p.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    pdf.save(path)


def make_big_pdf(path: pathlib.Path, megabytes: int = 200) -> None:
    """~``megabytes`` MB: pages with large uncompressed random images."""
    pdf = pikepdf.new()
    per_page = 4 * 1024 * 1024
    for i in range(max(1, megabytes * 1024 * 1024 // per_page)):
        p = pdf.add_blank_page(page_size=(595, 842))
        side = int((per_page // 3) ** 0.5)
        img = pdf.make_stream(os.urandom(side * side * 3), Type=pikepdf.Name.XObject,
                              Subtype=pikepdf.Name.Image, Width=side, Height=side,
                              ColorSpace=pikepdf.Name.DeviceRGB, BitsPerComponent=8)
        p.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=img))
        p.obj.Contents = pdf.make_stream(b"q 500 0 0 500 40 200 cm /Im0 Do Q")
    pdf.save(path, compress_streams=False)


def identities(tmp: pathlib.Path):
    from sign.certs.ca import create_hierarchy
    from sign.certs.profiles import CompanySubject

    out = {}
    for alg, ca_alg in (("rsa", "rsa2048"), ("sm2", "sm2")):
        h = create_hierarchy(ca_alg, org="Bench Insurer")
        ident = h.issuing.new_identity(CompanySubject("基准测试保险", credit_code="91110000100000000X"))
        d = tmp / alg
        d.mkdir()
        (d / "key.pem").write_bytes(ident.key_pem)
        (d / "cert.pem").write_bytes(ident.cert_pem)
        (d / "chain.pem").write_bytes(ident.chain_pem)
        out[alg] = (ident, d)
    return out


# ------------------------------------------------------------------------------ runners
def timed(fn, n: int, warmup: int = 3) -> float:
    """Documents per second over ``n`` calls."""
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - t0)


def ours(src: pathlib.Path, out: pathlib.Path, signers, alg: str):
    from sign.pdf import sign_pdf, sign_pdf_dual
    from sign.specs import SignatureSpec

    spec = SignatureSpec()
    if alg == "dual":
        return lambda: sign_pdf_dual(src, out, signers["sm2"], signers["rsa"], spec, spec)
    return lambda: sign_pdf(src, out, signers[alg], spec)


def pyhanko_signers(d: pathlib.Path):
    from cryptography.hazmat.primitives import serialization
    from pyhanko.sign import signers

    stock = signers.SimpleSigner.load(str(d / "key.pem"), str(d / "cert.pem"),
                                      ca_chain_files=(str(d / "chain.pem"),))

    class CachedKeySigner(signers.SimpleSigner):
        """SimpleSigner that parses its key once (stock pyHanko parses it per signature)."""

        _key = None

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
            if self._key is None:
                self._key = serialization.load_der_private_key(self.signing_key.dump(), None)
            return self._key.sign(data, PKCS1v15(), getattr(hashes, digest_algorithm.upper())())

    cached = CachedKeySigner(signing_cert=stock.signing_cert, signing_key=stock.signing_key,
                             cert_registry=stock.cert_registry)
    return stock, cached


def pyhanko_run(src: pathlib.Path, out: pathlib.Path, signer):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    meta = signers.PdfSignatureMetadata(field_name="Signature1")

    def run():
        with open(src, "rb") as inf, open(out, "wb") as outf:
            w = IncrementalPdfFileWriter(inf)
            signers.sign_pdf(w, meta, signer=signer, output=outf)
    return run


# ------------------------------------------------------------------------------ big file
def big_child(path: str) -> None:
    """Run in a child: baseline RSS, reset the high-water mark, sign, report the peak."""
    from sign.pdf import sign_pdf
    from sign.signers import SoftwareSigner

    d = pathlib.Path(os.environ["BENCH_KEYDIR"])
    signer = SoftwareSigner.from_pem((d / "key.pem").read_bytes(), (d / "cert.pem").read_bytes(),
                                     (d / "chain.pem").read_bytes())
    small = pathlib.Path(path).with_name("warm.pdf")
    make_pdf(small, 1)
    sign_pdf(small, small.with_name("warm-out.pdf"), signer)  # import/warm everything
    base = _status("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset VmHWM to the current RSS
    except OSError:
        pass
    t0 = time.perf_counter()
    sign_pdf(path, pathlib.Path(path).with_name("big-out.pdf"), signer)
    dt = time.perf_counter() - t0
    peak = _status("VmHWM")
    print(json.dumps({"baseline_kb": base, "peak_kb": peak, "delta_mb": (peak - base) / 1024,
                      "seconds": dt}))


def _status(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def run_big(tmp: pathlib.Path, keydir: pathlib.Path, megabytes: int) -> dict:
    path = tmp / "big.pdf"
    t0 = time.perf_counter()
    make_big_pdf(path, megabytes)
    gen = time.perf_counter() - t0
    env = dict(os.environ, BENCH_KEYDIR=str(keydir), PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, __file__, "--_big-child", str(path)], env=env,
                         capture_output=True, text=True, check=True)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["file_mb"] = path.stat().st_size / 1e6
    out["generate_seconds"] = gen
    return out


# ------------------------------------------------------------------------------ main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=600, help="documents per case (ours), over all rounds")
    ap.add_argument("--n-pyhanko", type=int, default=30,
                    help="documents per pyHanko case, over all rounds")
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best is kept")
    ap.add_argument("--big", action="store_true", help="also measure peak RSS on a 200 MB PDF")
    ap.add_argument("--big-mb", type=int, default=200)
    ap.add_argument("--json", default=str(ROOT / "bench-results" / "sign_bench.json"))
    ap.add_argument("--_big-child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._big_child:
        big_child(a._big_child)
        return 0
    try:  # one core, as the targets are stated per core
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    except (AttributeError, OSError):
        pass

    from sign.signers import SoftwareSigner

    with tempfile.TemporaryDirectory(prefix="sign-bench-") as t:
        tmp = pathlib.Path(t)
        ids = identities(tmp)
        signers = {alg: SoftwareSigner.from_pem(i.key_pem, i.cert_pem, i.chain_pem)
                   for alg, (i, _) in ids.items()}
        docs = {1: tmp / "p1.pdf", a.pages: tmp / f"p{a.pages}.pdf"}
        for pages, p in docs.items():
            make_pdf(p, pages)
        out = tmp / "out.pdf"
        stock, cached = pyhanko_signers(ids["rsa"][1])
        cases = []
        for pages, src in docs.items():
            for alg in ("rsa", "sm2", "dual"):
                cases.append((f"ours {alg}", pages, ours(src, out, signers, alg), a.n, 3))
            for label, s in (("pyhanko rsa (stock SimpleSigner)", stock),
                             ("pyhanko rsa (cached key)", cached)):
                cases.append((label, pages, pyhanko_run(src, out, s), a.n_pyhanko, 1))
        # interleaved rounds, best round kept: the machine may be shared (CI, other jobs)
        best: dict = {}
        for _ in range(a.rounds):
            for label, pages, fn, n, warm in cases:
                rate = timed(fn, max(1, n // a.rounds), warmup=warm)
                best[(label, pages)] = max(best.get((label, pages), 0.0), rate)
        rows = [{"case": label, "pages": pages, "docs_per_s": best[(label, pages)]}
                for label, pages, *_ in cases]
        big = run_big(tmp, ids["rsa"][1], a.big_mb) if a.big else None

    ref = {r["pages"]: r["docs_per_s"] for r in rows if r["case"] == "pyhanko rsa (cached key)"}
    ref_stock = {r["pages"]: r["docs_per_s"] for r in rows if r["case"].startswith("pyhanko rsa (stock")}
    one = {r["case"]: r["docs_per_s"] for r in rows if r["pages"] == 1}
    print(f"{'case':36} {'pages':>5} {'docs/s':>9} {'ms/doc':>8} {'x pyHanko cached':>17} {'x stock':>8}")
    for r in rows:
        r["ms_per_doc"] = 1000 / r["docs_per_s"]
        r["ratio_vs_pyhanko_cached"] = r["docs_per_s"] / ref[r["pages"]]
        r["ratio_vs_pyhanko_stock"] = r["docs_per_s"] / ref_stock[r["pages"]]
        r["cost_vs_1_page"] = one[r["case"]] / r["docs_per_s"]
        print(f"{r['case']:36} {r['pages']:>5} {r['docs_per_s']:>9.1f} {r['ms_per_doc']:>8.2f} "
              f"{r['ratio_vs_pyhanko_cached']:>16.1f}x {r['ratio_vs_pyhanko_stock']:>7.1f}x")
    checks = {
        "1-page RSA >= 500 docs/s": one["ours rsa"] >= 500,
        "1-page SM2 >= 500 docs/s": one["ours sm2"] >= 500,
        "1-page RSA >= 10x pyHanko cached": one["ours rsa"] >= 10 * ref[1],
        f"{a.pages}-page RSA cost <= 1.5x 1-page": all(
            r["cost_vs_1_page"] <= 1.5 for r in rows if r["case"] == "ours rsa"),
        f"{a.pages}-page SM2 cost <= 1.5x 1-page": all(
            r["cost_vs_1_page"] <= 1.5 for r in rows if r["case"] == "ours sm2"),
    }
    if big is not None:
        print(f"big: {big['file_mb']:.0f} MB signed in {big['seconds']:.2f} s, peak RSS "
              f"+{big['delta_mb']:.1f} MB above baseline")
        checks[f"{a.big_mb} MB peak RSS < 100 MB above baseline"] = big["delta_mb"] < 100
    for k, ok in checks.items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {k}")
    result = {"rows": rows, "big": big, "checks": checks, "n": a.n, "n_pyhanko": a.n_pyhanko,
              "rounds": a.rounds, "load_average": os.getloadavg(),
              "python": sys.version.split()[0], "platform": platform.platform(),
              "cpu": platform.processor() or platform.machine(),
              "pikepdf": pikepdf.__version__, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    path = pathlib.Path(a.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
