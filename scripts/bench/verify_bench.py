"""Verification throughput: our ``sign.verify`` vs pyHanko's ``validate_pdf_signature``.

Generates an RSA-2048 CA hierarchy and a signed 1-page PDF, verifies it N times with each (same
process, one core, trust = the generated root), prints a table and writes JSON
(``bench-results/verify_bench.json`` or ``--json PATH``). Not a test.

    .venv/bin/python scripts/bench/verify_bench.py [-n 2000] [--signer pyhanko|ours] [--json PATH]
"""
from __future__ import annotations

import argparse
import io
import json
import pathlib
import platform
import sys
import time
from typing import Callable

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def make_pdf() -> bytes:
    import pikepdf

    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    page = pdf.add_blank_page(page_size=(595, 842))
    page.obj.Contents = pdf.make_stream(b"BT /F1 14 Tf 72 760 Td (Policy 2026-0001) Tj ET")
    page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def make_identity():
    from sign.certs.ca import create_hierarchy
    from sign.certs.profiles import CompanySubject

    hierarchy = create_hierarchy("rsa2048", org="Bench Insurer")
    identity = hierarchy.issuing.new_identity(CompanySubject("基准保险股份有限公司",
                                                             credit_code="91110000100000000X"))
    return identity, hierarchy.root.cert


def sign_with_pyhanko(data: bytes, identity) -> bytes:
    from asn1crypto import keys
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    der = identity.key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    signer = signers.SimpleSigner(signing_cert=identity.cert,
                                  signing_key=keys.PrivateKeyInfo.load(der),
                                  cert_registry=SimpleCertificateStore.from_certs(identity.chain))
    out = io.BytesIO()
    signers.PdfSigner(signers.PdfSignatureMetadata(field_name="Signature1"), signer).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(data)), output=out)
    return out.getvalue()


def sign_with_ours(data: bytes, identity) -> bytes:
    from sign.pdf import sign_pdf
    from sign.signers import SoftwareSigner

    signer = SoftwareSigner.from_pem(identity.key_pem, identity.cert_pem, identity.chain_pem)
    out = io.BytesIO()
    sign_pdf(data, out, signer)
    return out.getvalue()


def ours(signed: bytes, root) -> Callable[[], bool]:
    from sign.verify import verify

    trust = [root]

    def run() -> bool:
        return verify(signed, trust=trust).valid
    return run


def pyhanko(signed: bytes, root) -> Callable[[], bool]:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    def run() -> bool:
        reader = PdfFileReader(io.BytesIO(signed))
        vc = ValidationContext(trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail")
        status = validate_pdf_signature(reader.embedded_signatures[0], vc)
        return bool(status.bottom_line)
    return run


def distinct_signers(k: int, plain: bytes, signer: str) -> tuple[list[bytes], object]:
    """``k`` documents, each signed with a fresh end-entity certificate of one CA."""
    from sign.certs.ca import create_hierarchy
    from sign.certs.profiles import CompanySubject

    hierarchy = create_hierarchy("rsa2048", org="Bench Insurer")
    sign = sign_with_pyhanko if signer == "pyhanko" else sign_with_ours
    docs = [sign(plain, hierarchy.issuing.new_identity(
        CompanySubject(f"基准保险{i}", credit_code="91110000100000000X"))) for i in range(k)]
    return docs, hierarchy.root.cert


def measure_each_once(docs: list[bytes], root) -> dict[str, float]:
    """Every document verified once (each signer certificate seen for the first time)."""
    from sign.verify import verify

    trust = [root]
    assert verify(docs[0], trust=trust).valid
    start = time.perf_counter()
    for doc in docs[1:]:
        assert verify(doc, trust=trust).valid
    elapsed = time.perf_counter() - start
    n = len(docs) - 1
    return {"n": n, "seconds": elapsed, "docs_per_s": n / elapsed, "ms_per_doc": 1000 * elapsed / n}


def measure(fn: Callable[[], bool], n: int) -> dict[str, float]:
    assert fn(), "the benchmark document must verify as valid"
    for _ in range(min(20, n)):
        fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    elapsed = time.perf_counter() - start
    return {"n": n, "seconds": elapsed, "docs_per_s": n / elapsed, "ms_per_doc": 1000 * elapsed / n}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=2000, help="verifications with ours (default 2000)")
    ap.add_argument("--n-pyhanko", type=int, default=300, help="verifications with pyHanko")
    ap.add_argument("--signer", choices=["pyhanko", "ours"], default="pyhanko")
    ap.add_argument("--distinct", type=int, default=40,
                    help="also verify this many documents with distinct signer certs (0: skip)")
    ap.add_argument("--json", default=str(ROOT / "bench-results" / "verify_bench.json"))
    args = ap.parse_args(argv)

    identity, root = make_identity()
    plain = make_pdf()
    signed = (sign_with_pyhanko if args.signer == "pyhanko" else sign_with_ours)(plain, identity)
    results = {"ours (sign.verify)": measure(ours(signed, root), args.n),
               "pyHanko validate_pdf_signature": measure(pyhanko(signed, root), args.n_pyhanko)}
    if args.distinct > 1:
        docs, droot = distinct_signers(args.distinct, plain, args.signer)
        results["ours, new signer cert per doc"] = measure_each_once(docs, droot)
    base = results["pyHanko validate_pdf_signature"]["docs_per_s"]
    print(f"signed 1-page PDF: {len(signed)} bytes (signed by {args.signer}), RSA-2048, "
          f"trust = generated root, Python {platform.python_version()}")
    print(f"{'verifier':34} {'N':>6} {'docs/s':>10} {'ms/doc':>8} {'ratio':>7}")
    for name, r in results.items():
        print(f"{name:34} {r['n']:>6} {r['docs_per_s']:>10.1f} {r['ms_per_doc']:>8.3f} "
              f"{r['docs_per_s'] / base:>6.2f}x")
    out = pathlib.Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"document_bytes": len(signed), "signer": args.signer,
                               "python": platform.python_version(), "results": results,
                               "ratio_ours_vs_pyhanko": results["ours (sign.verify)"]["docs_per_s"] / base},
                              indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
