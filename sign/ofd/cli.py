"""``python -m sign sign|verify`` for ``.ofd`` files (dispatched from :mod:`sign.cli` /
:mod:`sign.cli_verify` on the extension).

Signing takes the PDF options with these meanings for OFD:

* ``--key/--cert/--chain/--password``: an SM2 key and certificate (OFD seal signatures are
  SM2/SM3; ``--alg rsa|dual``, ``--tsa`` and ``--certify`` are refused for OFD).
* ``--image``: a PNG seal picture, or a GB/T 38540 / GM/T 0031 seal file (``.esl``, DER SESeal)
  whose certList names the signer. With a picture, a V4 seal is made on the fly with the
  signer as seal maker (self-issued seal, valid one year); without ``--image`` the seal
  picture is drawn from the certificate's organisation name and no stamp is shown.
* ``--rect x,y,w,h`` in points with the origin at the bottom-left, as for PDF (converted to mm,
  top-left origin); ``--keyword/--occurrence/--offset/--size`` as for PDF (points); ``--page``.
* ``--reason/--location/--contact/--field`` have no OFD equivalent and are ignored.

Exit codes as in :mod:`sign.cli` / :mod:`sign.cli_verify`.
"""
from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, Optional, TextIO

from sign.ofd.errors import OfdError

PT = 25.4 / 72.0  # mm per point
EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
INPUT_CODES = {"not_zip", "zip_too_large", "too_many_files", "zip_bomb", "unsafe_path", "duplicate_entry",
               "encrypted_entry", "missing_part", "bad_xml", "bad_structure", "page_out_of_range",
               "keyword_not_found", "bad_placement", "bad_seal", "signer_error", "bad_image"}


def _err(msg: str, err: Optional[TextIO] = None) -> None:
    print(f"error: {msg}", file=err or sys.stderr)


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def run_sign(a: Any, job: Any) -> int:
    """Sign one ``.ofd`` (``a``: the parsed ``sign`` arguments, ``job``: :class:`sign.cli.SignJob`)."""
    from sign.crypto.sm2 import load_private_key
    from sign.ofd.sign import StampPlacement, sign_ofd
    from sign.signers import load_certs

    if job.alg in ("rsa", "dual") or len(job.keys) != 1:
        _err("[usage] OFD seal signatures are SM2 only (no --alg rsa/dual)")
        return EXIT_USAGE
    if job.tsa or job.certify:
        _err("[usage] --tsa and --certify are not supported for OFD")
        return EXIT_USAGE
    if not os.path.exists(a.input):
        _err(f"[input_unreadable] {a.input}: no such file")
        return EXIT_USAGE
    try:
        certs = load_certs(_read(job.certs[0])) + (load_certs(_read(job.chains[0])) if job.chains[0] else [])
        if not certs:
            raise ValueError("no certificate in --cert")
        cert = certs[0]
        password = job.password.encode() if job.password else None
        key = load_private_key(_read(job.keys[0]), password)
    except (OSError, ValueError, TypeError) as exc:
        _err(f"[signer_error] cannot load the SM2 key/certificate: {exc}")
        return EXIT_USAGE
    except Exception as exc:
        _err(f"[signer_error] cannot load the SM2 key/certificate: {type(exc).__name__}: {exc}")
        return EXIT_USAGE
    try:
        seal = _seal(job.image, key, cert)
        placement = None
        if job.rect is not None:
            data = _read(a.input)
            from sign.ofd.package import read_ofd
            pkg = read_ofd(data)
            page = pkg.document.page(job.page or 1)
            _x0, _y0, _w, page_h = pkg.page_box(page)
            x, y, w, h = job.rect
            placement = StampPlacement(page=job.page or 1, box=(x * PT, page_h - (y + h) * PT, w * PT, h * PT))
        elif job.keyword is not None:
            placement = StampPlacement(page=a.page, keyword=job.keyword, occurrence=job.occurrence,
                                       offset=(job.offset[0] * PT, -job.offset[1] * PT),
                                       size=(job.size[0] * PT, job.size[1] * PT))
        result = sign_ofd(_read(a.input), key, seal, placement, signer_cert=cert)
        with open(a.output, "wb") as fh:
            fh.write(result.data)
    except OfdError as exc:
        _err(f"{a.input}: {exc}")
        return EXIT_USAGE if exc.code in INPUT_CODES else EXIT_FAIL
    except OSError as exc:
        _err(f"[output_unwritable] {a.output}: {exc.strerror}")
        return EXIT_USAGE
    return EXIT_OK


def _seal(image: Optional[bytes], key: Any, cert: Any) -> bytes:
    """The SESeal to sign with: a given .esl, or one made now with the signer as maker."""
    from sign.seals import SealError, make_seal, parse_seal

    if image is not None and image[:1] == b"\x30":
        try:
            parse_seal(image)
            return image
        except SealError as exc:
            raise OfdError("bad_seal", f"--image is neither a PNG nor a seal (.esl): {exc}") from None
    org = _org_name(cert)
    if image is None:
        from sign.seals.render import render_seal
        from sign.seals.specs import SealKind, SealSpec
        try:
            image = render_seal(SealSpec(kind=SealKind.OFFICIAL, text=org[:24]))
        except SealError as exc:
            raise OfdError("bad_seal", f"cannot draw a seal picture: {exc}") from None
    elif image[:8] != b"\x89PNG\r\n\x1a\n":
        raise OfdError("bad_image", "--image must be a PNG (or a .esl seal) for OFD")
    now = datetime.now(timezone.utc)
    try:
        return make_seal(name=org, picture=image, maker=key, maker_cert=cert, signer_certs=[cert],
                         valid_start=now - timedelta(minutes=5), valid_end=now + timedelta(days=365))
    except SealError as exc:
        raise OfdError("bad_seal", str(exc)) from None


def _org_name(cert: Any) -> str:
    try:
        native = cert.subject.native
        return native.get("organization_name") or native.get("common_name") or "电子印章"
    except Exception:
        return "电子印章"


# ------------------------------------------------------------------------------ verify
def run_verify(args: Any, out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> int:
    """``python -m sign verify FILE.ofd [--trust PEM] [--json] [--at ISO]``: 0 valid, 1 not, 2 unreadable."""
    from sign.certs.pem import load_certificates
    from sign.ofd.verify import verify_ofd

    out, err = out or sys.stdout, err or sys.stderr
    trust = None
    if args.trust:
        try:
            trust = [c for path in args.trust for c in load_certificates(_read(path))]
        except (OSError, ValueError, TypeError) as exc:
            print(f"TRUST_UNREADABLE: cannot read --trust: {exc}", file=err)
            return EXIT_USAGE
    # --trust certificates also serve as candidate signers of bare SM2 signatures (no certificate inside)
    report = verify_ofd(args.file, trust=trust, intermediates=trust or (), signer_certs=trust or (), at=args.at)
    if not report.readable:
        assert report.error is not None
        if args.json:
            print(json.dumps({"valid": False, "error": {"code": report.error.code, "message": report.error.message}},
                             ensure_ascii=False, indent=2), file=out)
        print(f"{report.error.code}: {report.error.message}", file=err)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str), file=out)
    else:
        print(summary(report, args.file), file=out)
    return EXIT_OK if report.valid else EXIT_FAIL


def summary(report: Any, name: str) -> str:
    lines = [f"{name}: {'VALID' if report.valid else 'NOT VALID'} (OFD, {len(report.signatures)} signature(s), "
             f"{report.pages} page(s))"]
    lines += [f"  ! {p.code}: {p.message}" for p in report.problems]
    for s in report.signatures:
        lines.append(f"- signature {s.id} [{s.type}, {s.format}]: {'valid' if s.valid else 'NOT VALID'}")
        if s.signer:
            lines.append(f"    signer:    {s.signer.subject}")
            lines.append(f"    issuer:    {s.signer.issuer}  serial {s.signer.serial}")
        if s.seal:
            lines.append(f"    seal:      {s.seal.name} ({s.seal.es_id}), valid {s.seal.valid_start.date()} .. "
                         f"{s.seal.valid_end.date()}, maker {s.seal.maker}; maker signature "
                         f"{'ok' if s.seal.signature_ok else 'INVALID'}")
        if s.signing_time:
            lines.append(f"    signed at: {s.signing_time.isoformat()}  by {s.provider or '?'}")
        changed = [r for r in s.references if r.status != "ok"]
        lines.append(f"    integrity: {len(s.references) - len(changed)}/{len(s.references)} files intact"
                     f"{', ' + str(len(s.added_files)) + ' added' if s.added_files else ''}; signature "
                     f"{'ok' if s.crypto_valid else 'INVALID'}")
        if s.trust.checked:
            lines.append("    trust:     " + (f"trusted ({' <- '.join(s.trust.path)})" if s.trust.trusted else
                                             "NOT trusted: " + "; ".join(e.code for e in s.trust.errors)))
        else:
            lines.append("    trust:     not checked (no --trust given)")
        for st in s.stamps:
            lines.append(f"    stamp:     page {st.page or '?'} at {st.box}")
        lines += [f"    ! {p.code}: {p.message}" for p in s.problems]
        lines += [f"    (warning) {p.code}: {p.message}" for p in s.warnings]
    return "\n".join(lines)
