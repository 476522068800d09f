"""``python -m sign ltv add|renew|job`` and the LTV side of ``python -m sign verify``.

    python -m sign ltv add IN OUT --tsa URL [--crl PEM ...] [--cert PEM ...] [--hash sha256|sm3]
    python -m sign ltv renew IN OUT --tsa URL [--crl PEM ...] [--horizon-days 90] [--force]
    python -m sign ltv job DIR_OR_FILE ... --tsa URL --progress FILE [--crl PEM ...]
    python -m sign verify FILE --trust ROOT.pem --at 2040-01-01      (uses verify_at when the
                                                                     file carries LTV material)

``add``: PDF: DSS (signatures' certificates, --cert, --crl) + document time-stamp (SHA-256; SM3
for SM2 documents) -> B-LTA / GM-LTA; OFD: ``archive_N`` (SM3, SM2 TSA). ``renew``: the same
when the last time-stamp's TSA certificate expires within the horizon (OUT is then a copy of
IN when nothing is due). Exit codes: 0 ok / valid, 1 failed / not valid, 2 bad input.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import pathlib
import shutil
import sys
from typing import Any, TextIO

from sign.ltv.errors import LtvError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("ltv", help="long-term validation: add / renew archive time-stamps",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="ltv_command", metavar="ACTION")
    sub.required = True

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--tsa", required=True, help="RFC 3161 time-stamp server URL")
        sp.add_argument("--crl", action="append", default=[], metavar="PEM", help="CRL (PEM/DER); repeatable")
        sp.add_argument("--cert", action="append", default=[], metavar="PEM",
                        help="CA certificates to embed (PEM bundle); repeatable")

    a = sub.add_parser("add", help="embed validation material and an archive time-stamp")
    a.add_argument("input")
    a.add_argument("output")
    common(a)
    a.add_argument("--hash", choices=["sha256", "sm3"], help="PDF document time-stamp imprint "
                   "(default: sm3 for SM2 documents, else sha256)")
    a.set_defaults(func=run_add)

    r = sub.add_parser("renew", help="re-time-stamp when the last time-stamp's TSA certificate expires soon")
    r.add_argument("input")
    r.add_argument("output")
    common(r)
    r.add_argument("--horizon-days", type=float, default=90.0)
    r.add_argument("--force", action="store_true")
    r.set_defaults(func=run_renew)

    j = sub.add_parser("job", help="renew every due document of files/directories, in place (resumable)")
    j.add_argument("sources", nargs="+")
    common(j)
    j.add_argument("--progress", required=True, help="JSON progress file (resume / idempotence)")
    j.add_argument("--horizon-days", type=float, default=90.0)
    j.set_defaults(func=run_job)
    return p


def _err(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)


def _setup(args: argparse.Namespace):
    from sign.ltv.material import load_material
    from sign.timestamps import TimeStamper

    return TimeStamper(args.tsa), load_material(args.cert, args.crl)


def run_add(args: argparse.Namespace) -> int:
    from sign.ltv.archive import add_pdf_archive, write_atomically
    try:
        stamper, material = _setup(args)
        data = pathlib.Path(args.input).read_bytes()
        if data[:2] == b"PK":
            from sign.ltv.ofd import add_archive
            res = add_archive(data, stamper, material)
            write_atomically(args.output, res.data)
            print(f"{args.output}: {res.xml_path} ({res.files_covered} files, {res.certs} certificates, "
                  f"{res.crls} CRLs), time-stamp {res.gen_time.isoformat()}")
        else:
            res = add_pdf_archive(data, stamper, material, hash_alg=args.hash)
            write_atomically(args.output, res.data)
            print(f"{args.output}: DSS + document time-stamp {res.new_time.isoformat()}")
    except LtvError as exc:
        _err(str(exc))
        return EXIT_USAGE if exc.code in ("bad_material", "not_signed", "unsupported_input") else EXIT_FAIL
    except OSError as exc:
        _err(f"[input_unreadable] {exc}")
        return EXIT_USAGE
    return EXIT_OK


def run_renew(args: argparse.Namespace) -> int:
    from sign.ltv.archive import renew, write_atomically
    try:
        stamper, material = _setup(args)
        res = renew(args.input, stamper, material=material, force=args.force,
                    horizon=_dt.timedelta(days=args.horizon_days))
        if res.renewed:
            write_atomically(args.output, res.data)
            print(f"{args.output}: renewed ({res.reason}; previous TSA path expires "
                  f"{res.previous_expiry.isoformat() if res.previous_expiry else '-'}), "
                  f"new time-stamp {res.new_time.isoformat() if res.new_time else '?'}")
        else:
            if pathlib.Path(args.input).resolve() != pathlib.Path(args.output).resolve():
                shutil.copyfile(args.input, args.output)
            print(f"{args.output}: not due (TSA path expires {res.previous_expiry.isoformat()})")
    except LtvError as exc:
        _err(str(exc))
        return EXIT_USAGE if exc.code in ("bad_material", "not_signed", "unsupported_input") else EXIT_FAIL
    except OSError as exc:
        _err(f"[input_unreadable] {exc}")
        return EXIT_USAGE
    return EXIT_OK


def run_job(args: argparse.Namespace) -> int:
    from sign.ltv.archive import ArchiveJob
    try:
        stamper, material = _setup(args)
        report = ArchiveJob(args.sources, stamper, progress=args.progress, material=material,
                            horizon=_dt.timedelta(days=args.horizon_days)).run()
    except LtvError as exc:
        _err(str(exc))
        return EXIT_FAIL
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    return EXIT_FAIL if report.errors else EXIT_OK


# ------------------------------------------------------------------------------ verify --at
def wants_ltv(args: argparse.Namespace) -> bool:
    """``verify`` takes the LTV path for an OFD with archives, or with ``--at`` and LTV material."""
    from sign.ltv.verify_at import has_ltv_material
    at, name = getattr(args, "at", None), str(getattr(args, "file", ""))
    if at is None and not name.lower().endswith(".ofd"):
        return False
    return has_ltv_material(name)


def run_verify_at(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from sign.ltv.material import Material
    from sign.ltv.verify_at import verify_at
    from sign.verify import load_certificates

    out, err = out or sys.stdout, err or sys.stderr
    try:
        certs = [c for path in args.trust for c in load_certificates(path)]
    except (OSError, ValueError, TypeError) as exc:
        print(f"TRUST_UNREADABLE: cannot read --trust: {exc}", file=err)
        return EXIT_USAGE
    roots = [c for c in certs if c.self_issued]
    extra = Material(tuple(c for c in certs if not c.self_issued))
    try:
        report = verify_at(args.file, trust=roots, at=args.at, extra=extra)
    except (LtvError, OSError) as exc:
        print(f"unreadable: {exc}", file=err)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str), file=out)
    else:
        print(summary(report, args.file), file=out)
    return EXIT_OK if report.valid else EXIT_FAIL


def summary(report: Any, name: str) -> str:
    lines = [f"{name}: {'VALID' if report.valid else 'NOT VALID'} as of {report.at.isoformat()} "
             f"({report.format}, {len(report.signatures)} signature(s), long-term validation)"]
    lines += [f"  ! {p.code}: {p.message}" for p in report.problems]
    for s in report.signatures:
        lines.append(f"- {s.name}: level {s.level or 'NONE (not valid)'}")
        if s.signer:
            lines.append(f"    signer:    {s.signer}")
        if s.existence_time:
            lines.append(f"    existed:   {s.existence_time.isoformat()} (proven by {s.existence_proven_by})")
        lines.append(f"    validated: at {s.validated_at.isoformat()}")
        lines += [f"    why:       {r}" for r in s.reasons]
        lines += [f"    ! {p.code}: {p.message}" for p in s.problems]
    for t in report.timestamps:
        state = f"trusted (validated at {t.proven_at.isoformat()}, {t.proven_by})" if t.trusted \
            else "NOT trusted"
        lines.append(f"  time-stamp {t.name} [{t.kind}] {t.gen_time.isoformat() if t.gen_time else '?'} "
                     f"{t.algorithm}/{t.hash_alg}: {state}")
        lines += [f"    ! {p.code}: {p.message}" for p in t.problems]
    return "\n".join(lines)
