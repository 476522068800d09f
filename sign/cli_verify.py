"""``python -m sign verify FILE.pdf [--trust PEM ...] [--json] [--at ISO-DATE]``.

Exit codes: 0 every signature valid and nothing disallowed changed after it; 1 otherwise
(including no signature); 2 unreadable input (not a PDF, truncated, missing file, bad --trust).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from typing import Any, TextIO

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("verify", help="verify the signatures of a PDF (签署校验)",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", metavar="FILE.pdf")
    p.add_argument("--trust", action="append", default=[], metavar="PEM",
                   help="trusted certificates (PEM, may hold several); repeatable")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.add_argument("--at", type=_iso_date, metavar="ISO-DATE",
                   help="validate certificates at this time (default: timestamp/signing time); "
                        "with LTV material (DSS, document time-stamps, OFD archives): offline "
                        "verification as of this date, level per signature (sign.ltv)")
    p.set_defaults(func=run)
    return p


def _iso_date(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date/time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from sign.ltv.cli import run_verify_at, wants_ltv
    if wants_ltv(args):  # DSS / document time-stamps / OFD archives: level per signature
        return run_verify_at(args, out, err)
    if str(args.file).lower().endswith(".ofd"):  # OFD (GB/T 33190): see sign.ofd.cli
        from sign.ofd.cli import run_verify as run_verify_ofd
        return run_verify_ofd(args, out, err)
    from sign.verify import PdfVerifyError, load_certificates, verify

    out, err = out or sys.stdout, err or sys.stderr
    logging.getLogger("pikepdf._core").setLevel(logging.ERROR)  # qpdf repair chatter on bad input
    try:
        trust = [c for path in args.trust for c in load_certificates(path)] if args.trust else None
    except (OSError, ValueError, TypeError) as exc:
        print(f"TRUST_UNREADABLE: cannot read --trust: {exc}", file=err)
        return EXIT_UNREADABLE
    try:
        report = verify(args.file, trust=trust, at=args.at)
    except PdfVerifyError as exc:
        if args.json:
            print(json.dumps({"valid": False, "error": {"code": exc.code, "message": exc.message}},
                             ensure_ascii=False, indent=2), file=out)
        print(f"{exc.code}: {exc.message}", file=err)
        return EXIT_UNREADABLE
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str), file=out)
    else:
        print(summary(report, args.file), file=out)
    return EXIT_OK if report.valid else EXIT_INVALID


def summary(report: Any, name: str) -> str:
    lines = [f"{name}: {'VALID' if report.valid else 'NOT VALID'} "
             f"({len(report.signatures)} signature(s), {report.revisions} revision(s))"]
    lines += [f"  ! {p.code}: {p.message}" for p in report.problems]
    for sig in report.signatures:
        lines += _signature_lines(sig)
    return "\n".join(lines)


def _signature_lines(sig: Any) -> list[str]:
    state = "valid" if sig.valid else "NOT VALID"
    lines = [f"- {sig.field_name} [{sig.kind}]: {state}"]
    if sig.signer:
        lines.append(f"    signer:    {sig.signer.subject}")
        lines.append(f"    issuer:    {sig.signer.issuer}  serial {sig.signer.serial}")
    lines.append(f"    algorithm: {sig.algorithm or '?'} / {sig.digest_algorithm or '?'}"
                 f"  ({sig.sub_filter or 'no /SubFilter'})")
    if sig.signing_time:
        lines.append(f"    signed at: {sig.signing_time.isoformat()} ({sig.signing_time_source})")
    if sig.timestamp:
        ts = sig.timestamp
        lines.append(f"    timestamp: {ts.time.isoformat() if ts.time else '?'} by {ts.tsa} "
                     f"({'valid' if ts.valid else 'NOT valid'})")
    lines.append(f"    integrity: {'ok' if sig.intact else 'BROKEN'}; signature "
                 f"{'ok' if sig.crypto_valid else 'INVALID'}; covers whole file: "
                 f"{'yes' if sig.covers_whole_file else f'no ({sig.revisions_after} later revision(s))'}")
    lines.append(f"    trust:     {_trust_text(sig.trust)}")
    if sig.docmdp_level:
        lines.append(f"    certification: DocMDP level {sig.docmdp_level}")
    lines += [f"    ! {p.code}: {p.message}" for p in sig.problems]
    for change in sig.changes_after:
        mark = "ok" if change.allowed else "NOT ALLOWED"
        lines.append(f"    change after signing [{mark}] {change.kind}: {change.description}")
    return lines


def _trust_text(trust: Any) -> str:
    if not trust.checked:
        return "not checked (no --trust given)"
    if trust.trusted:
        return f"trusted ({' <- '.join(trust.path)})"
    return "NOT trusted: " + "; ".join(f"{e.code} {e.message}" for e in trust.errors)
