"""Command line: ``python -m sign keygen|sign|verify``.

Exit codes: 0 ok, 1 failure (signing failed, or some documents of a batch failed),
2 bad input or usage (unreadable/invalid PDF, key, certificate, options).
Errors are one line ``error: [code] message`` on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import pathlib
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from sign.pdf.errors import PdfSignError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
# error codes that mean "your input is bad" (exit 2) rather than "signing failed" (exit 1)
INPUT_CODES = {"not_pdf", "input_unreadable", "corrupt_pdf", "truncated_pdf", "encrypted_pdf",
               "page_out_of_range", "keyword_not_found", "field_exists", "docmdp_violation",
               "bad_image", "bad_spec", "signer_error", "output_unwritable"}


class UsageError(Exception):
    pass


# ------------------------------------------------------------------------------ parser
def _floats(text: str, n: int, what: str) -> Tuple[float, ...]:
    try:
        vals = tuple(float(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} must be {n} comma-separated numbers") from None
    if len(vals) != n:
        raise argparse.ArgumentTypeError(f"{what} must be {n} comma-separated numbers")
    return vals


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sign", description="PDF e-signing tools")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    k = sub.add_parser("keygen", help="generate a key and a certificate from the internal CA")
    k.add_argument("--alg", choices=["sm2", "rsa"], required=True)
    k.add_argument("--subject", required=True, help='e.g. "CN=张三,O=某保险公司,serialNumber=9111..."')
    k.add_argument("--out", required=True, help="directory for key.pem, cert.pem, chain.pem")
    k.add_argument("--ca-dir", default=os.environ.get("SIGN_CA_DIR", "data/ca"),
                   help="internal CA directory, created on first use (default: $SIGN_CA_DIR "
                        "or data/ca)")
    k.set_defaults(func=run_keygen)

    s = sub.add_parser("sign", help="sign a PDF, or every PDF of a directory")
    s.add_argument("input", help="input PDF or directory")
    s.add_argument("output", help="output PDF or directory")
    s.add_argument("--key", action="append", required=True,
                   help="private key PEM (repeat for --alg dual: SM2 first, then RSA)")
    s.add_argument("--cert", action="append", required=True, help="certificate PEM (repeat for dual)")
    s.add_argument("--chain", action="append", default=[], help="chain PEM (repeat for dual)")
    s.add_argument("--password", help="key password")
    s.add_argument("--alg", choices=["sm2", "rsa", "dual"],
                   help="default: the certificate's algorithm")
    s.add_argument("--image", help="PNG (transparent seal / handwritten signature); "
                                   "without it the signature is invisible. With --alg dual the "
                                   "image goes with the SM2 signature, the RSA one is invisible")
    s.add_argument("--page", type=int, help="page number, from 1 (default 1 for --rect)")
    s.add_argument("--rect", type=lambda t: _floats(t, 4, "--rect"), help="x,y,w,h in points")
    s.add_argument("--keyword", help="place the image centred on this text (Chinese ok)")
    s.add_argument("--occurrence", choices=["first", "last", "all"], default="first")
    s.add_argument("--offset", type=lambda t: _floats(t, 2, "--offset"), default=(0.0, 0.0),
                   help="dx,dy moved from the keyword centre")
    s.add_argument("--size", type=lambda t: _floats(t, 2, "--size"), default=(120.0, 120.0),
                   help="w,h of the image at a keyword (points)")
    s.add_argument("--tsa", help="RFC 3161 time-stamp server URL (PAdES B-T)")
    s.add_argument("--reason")
    s.add_argument("--location")
    s.add_argument("--contact")
    s.add_argument("--field", help="signature field name (default SignatureN); an existing "
                                   "empty signature field of that name is signed in place")
    s.add_argument("--certify", type=int, choices=[1, 2, 3],
                   help="certification signature with DocMDP level 1/2/3")
    s.add_argument("--jobs", type=int, default=0,
                   help="worker processes for a directory (default: all cores)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=run_sign)

    try:
        from sign import cli_verify  # written independently; optional until it lands
    except ImportError:
        cli_verify = None
    if cli_verify is not None:
        cli_verify.add_parser(sub)
        verify = sub.choices.get("verify")
        if verify is not None:
            verify.set_defaults(func=cli_verify.run)
    from sign.ltv import cli as ltv_cli  # python -m sign ltv add|renew|job
    ltv_cli.add_parser(sub)
    return p


# ------------------------------------------------------------------------------ signing config
@dataclass(frozen=True)
class SignJob:
    """Everything a worker needs; picklable (paths, not key objects)."""

    alg: str
    keys: Tuple[str, ...]
    certs: Tuple[str, ...]
    chains: Tuple[Optional[str], ...]
    password: Optional[str]
    image: Optional[bytes]
    page: Optional[int]
    rect: Optional[Tuple[float, ...]]
    keyword: Optional[str]
    occurrence: str
    offset: Tuple[float, float]
    size: Tuple[float, float]
    tsa: Optional[str]
    reason: Optional[str]
    location: Optional[str]
    contact: Optional[str]
    field: Optional[str]
    certify: Optional[int]


def _job_from_args(a: argparse.Namespace) -> SignJob:
    if len(a.key) != len(a.cert):
        raise UsageError("give as many --cert as --key")
    if a.chain and len(a.chain) != len(a.key):
        raise UsageError("give no --chain, or one per --key")
    alg = a.alg
    if alg == "dual" and len(a.key) != 2:
        raise UsageError("--alg dual needs two --key/--cert pairs: SM2 first, then RSA")
    if alg != "dual" and len(a.key) != 1:
        raise UsageError("several --key are only for --alg dual")
    if a.rect is not None and a.keyword is not None:
        raise UsageError("--rect and --keyword are exclusive")
    if a.image is not None and a.rect is None and a.keyword is None and a.field is None:
        raise UsageError("--image needs --rect (with --page), --keyword, or --field naming an "
                         "existing empty signature field")
    if a.image is None and (a.rect is not None or a.keyword is not None):
        raise UsageError("--rect/--keyword need --image")
    if a.page is not None and a.page < 1:
        raise UsageError("--page counts from 1")
    image = None
    if a.image is not None:
        try:
            image = pathlib.Path(a.image).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read image {a.image}: {exc.strerror}") from None
    page = a.page if (a.page is not None or a.keyword is not None) else 1
    return SignJob(alg or "", tuple(a.key), tuple(a.cert),
                   tuple(a.chain) if a.chain else (None,) * len(a.key), a.password, image, page,
                   a.rect, a.keyword, a.occurrence, tuple(a.offset), tuple(a.size), a.tsa,
                   a.reason, a.location, a.contact, a.field, a.certify)


class _Worker:
    """Signers (keys parsed once) and specs for one process."""

    def __init__(self, job: SignJob) -> None:
        from sign.signers import SoftwareSigner
        from sign.specs import AppearanceSpec, SignatureSpec

        self.signers = [SoftwareSigner.from_files(k, c, ch, job.password)
                        for k, c, ch in zip(job.keys, job.certs, job.chains)]
        alg = job.alg or self.signers[0].algorithm
        if alg == "dual":
            if [s.algorithm for s in self.signers] != ["sm2", "rsa"]:
                raise UsageError("--alg dual: the first key must be SM2, the second RSA")
        elif self.signers[0].algorithm != alg:
            raise UsageError(f"--alg {alg} but the certificate is {self.signers[0].algorithm}")
        self.alg = alg
        timestamper = None
        if job.tsa:
            from sign.timestamps import TimeStamper
            timestamper = TimeStamper(job.tsa)
        if job.image is not None:
            app = AppearanceSpec(image=job.image, page=job.page,
                                 rect=job.rect, keyword=job.keyword,  # type: ignore[arg-type]
                                 occurrence=job.occurrence,  # type: ignore[arg-type]
                                 offset=job.offset, size=job.size)
        else:
            app = AppearanceSpec(page=job.page or 1)
        common = dict(reason=job.reason, location=job.location, contact=job.contact,
                      timestamper=timestamper)
        self.specs = [SignatureSpec(field_name=job.field, certify=job.certify, appearance=app,
                                    **common)]
        if alg == "dual":  # the image goes with the SM2 signature; the RSA one is invisible
            self.specs = [SignatureSpec(field_name=f"{job.field}_SM2" if job.field else None,
                                        certify=job.certify, appearance=app, **common),
                          SignatureSpec(field_name=f"{job.field}_RSA" if job.field else None,
                                        **common)]

    def sign(self, src: str, dst: str) -> None:
        from sign.pdf import sign_pdf, sign_pdf_dual
        if self.alg == "dual":
            sign_pdf_dual(src, dst, self.signers[0], self.signers[1], *self.specs)
        else:
            sign_pdf(src, dst, self.signers[0], self.specs[0])


_WORKER: Optional[_Worker] = None


def _init_worker(job: SignJob) -> None:
    global _WORKER
    _WORKER = _Worker(job)


def _sign_one(item: Tuple[str, str]) -> Tuple[str, Optional[str]]:
    src, dst = item
    try:
        assert _WORKER is not None
        os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
        _WORKER.sign(src, dst)
        return src, None
    except PdfSignError as exc:
        _discard(dst, src)
        return src, str(exc)
    except Exception as exc:  # one bad file must never stop a batch
        _discard(dst, src)
        return src, f"[internal] {type(exc).__name__}: {exc}"


def _discard(dst: str, src: str) -> None:
    try:
        if os.path.exists(dst) and not os.path.samefile(dst, src):
            os.remove(dst)
    except OSError:
        pass


# ------------------------------------------------------------------------------ commands
def _err(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)


def run_sign(a: argparse.Namespace) -> int:
    try:
        job = _job_from_args(a)
    except UsageError as exc:
        _err(f"[usage] {exc}")
        return EXIT_USAGE
    if a.input.lower().endswith(".ofd") and not os.path.isdir(a.input):
        from sign.ofd.cli import run_sign as run_sign_ofd  # OFD (GB/T 33190): see sign.ofd.cli
        return run_sign_ofd(a, job)
    if os.path.isdir(a.input):
        return _run_batch(a, job)
    if not os.path.exists(a.input):
        _err(f"[input_unreadable] {a.input}: no such file")
        return EXIT_USAGE
    try:
        worker = _Worker(job)
    except UsageError as exc:
        _err(f"[usage] {exc}")
        return EXIT_USAGE
    except PdfSignError as exc:
        _err(str(exc))
        return EXIT_USAGE
    _init_direct(worker)
    src, error = _sign_one((a.input, a.output))
    if error is not None:
        _err(f"{src}: {error}")
        code = error[1:error.index("]")] if error.startswith("[") else ""
        return EXIT_USAGE if code in INPUT_CODES else EXIT_FAIL
    return EXIT_OK


def _init_direct(worker: _Worker) -> None:
    global _WORKER
    _WORKER = worker


def _run_batch(a: argparse.Namespace, job: SignJob) -> int:
    in_dir, out_dir = pathlib.Path(a.input), pathlib.Path(a.output)
    if out_dir.exists() and not out_dir.is_dir():
        _err(f"[usage] {out_dir} is not a directory")
        return EXIT_USAGE
    items = [(str(p), str(out_dir / p.relative_to(in_dir)))
             for p in sorted(in_dir.rglob("*")) if p.is_file() and p.suffix.lower() == ".pdf"]
    if out_dir.resolve().is_relative_to(in_dir.resolve()):
        items = [i for i in items if not pathlib.Path(i[0]).resolve().is_relative_to(out_dir.resolve())]
    out_dir.mkdir(parents=True, exist_ok=True)
    try:  # fail fast on a bad key/cert before starting workers
        worker = _Worker(job)
    except UsageError as exc:
        _err(f"[usage] {exc}")
        return EXIT_USAGE
    except PdfSignError as exc:
        _err(str(exc))
        return EXIT_USAGE
    jobs = a.jobs or os.cpu_count() or 1
    jobs = max(1, min(jobs, len(items) or 1))
    progress = _Progress(len(items), enabled=sys.stderr.isatty() and not a.quiet)
    failures: List[Tuple[str, str]] = []
    t0 = time.perf_counter()
    if jobs == 1:
        _init_direct(worker)
        results = map(_sign_one, items)
        for src, error in results:
            if error:
                failures.append((src, error))
            progress.step()
    else:
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        chunk = max(1, min(32, len(items) // (jobs * 8) or 1))
        with ctx.Pool(jobs, initializer=_init_worker, initargs=(job,)) as pool:
            for src, error in pool.imap_unordered(_sign_one, items, chunksize=chunk):
                if error:
                    failures.append((src, error))
                progress.step()
    elapsed = time.perf_counter() - t0
    progress.close()
    for src, error in sorted(failures):
        _err(f"{src}: {error}")
    ok = len(items) - len(failures)
    rate = ok / elapsed if elapsed > 0 else 0.0
    print(f"signed {ok}/{len(items)} documents in {elapsed:.2f} s ({rate:.1f} documents/s, "
          f"{jobs} jobs, {len(failures)} failed)")
    return EXIT_OK if not failures else EXIT_FAIL


class _Progress:
    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled and total > 0
        self._last = 0.0

    def step(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and self.done < self.total:
            return
        self._last = now
        width = 30
        filled = int(width * self.done / self.total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _parse_subject(text: str) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for part in text.replace("，", ",").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise UsageError(f"bad subject part {part!r} (want KEY=VALUE)")
        k, v = part.split("=", 1)
        out[k.strip().upper()] = v.strip()
    if "CN" not in out and "O" not in out:
        raise UsageError("subject needs CN= or O=")
    return out


def _load_or_create_ca(ca_dir: pathlib.Path, alg: str):
    from sign.certs.ca import CertificateAuthority, create_hierarchy
    from sign.certs.keys import as_signer
    from sign.certs.pem import dump_certificate, dump_private_key, load_certificate, load_private_key

    key_p, cert_p, root_p = (ca_dir / f"{alg}-issuing-key.pem", ca_dir / f"{alg}-issuing.pem",
                             ca_dir / f"{alg}-root.pem")
    if key_p.exists() and cert_p.exists() and root_p.exists():
        key = load_private_key(key_p.read_bytes())
        return CertificateAuthority(as_signer(key), load_certificate(cert_p.read_bytes()),
                                    [load_certificate(root_p.read_bytes())], key=key)
    ca_dir.mkdir(parents=True, exist_ok=True)
    h = create_hierarchy("sm2" if alg == "sm2" else "rsa2048", org="Internal Signing CA")
    key_p.write_bytes(dump_private_key(h.issuing.key))
    os.chmod(key_p, 0o600)
    cert_p.write_bytes(dump_certificate(h.issuing.cert))
    root_p.write_bytes(dump_certificate(h.root.cert))
    # the root key is not kept: the issuing CA is all keygen needs
    return h.issuing


def run_keygen(a: argparse.Namespace) -> int:
    try:
        subj = _parse_subject(a.subject)
    except UsageError as exc:
        _err(f"[usage] {exc}")
        return EXIT_USAGE
    try:
        from sign.certs.pem import dump_certificate, dump_certificates, dump_private_key
        from sign.certs.profiles import CompanySubject

        ca = _load_or_create_ca(pathlib.Path(a.ca_dir), a.alg)
        subject = CompanySubject(organization=subj.get("O") or subj["CN"],
                                 common_name=subj.get("CN"), credit_code=subj.get("SERIALNUMBER"),
                                 organizational_unit=subj.get("OU"), province=subj.get("ST"),
                                 locality=subj.get("L"), country=subj.get("C", "CN"))
        ident = ca.new_identity(subject, alg="sm2" if a.alg == "sm2" else "rsa2048")
        out = pathlib.Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "key.pem").write_bytes(dump_private_key(ident.key))
        os.chmod(out / "key.pem", 0o600)
        (out / "cert.pem").write_bytes(dump_certificate(ident.cert))
        (out / "chain.pem").write_bytes(dump_certificates(ident.chain))
    except Exception as exc:
        _err(f"[keygen_failed] {type(exc).__name__}: {exc}")
        return EXIT_FAIL
    print(f"{out / 'key.pem'}\n{out / 'cert.pem'}\n{out / 'chain.pem'}")
    return EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        _err("[interrupted]")
        return EXIT_FAIL
    except PdfSignError as exc:
        _err(str(exc))
        return EXIT_USAGE if exc.code in INPUT_CODES else EXIT_FAIL
    except Exception as exc:  # never a traceback
        _err(f"[internal] {type(exc).__name__}: {exc}")
        return EXIT_FAIL
