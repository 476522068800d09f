"""Append a document time-stamp (PAdES B-LTA; ISO 32000-2 §12.8.5) as an incremental update.

The update holds a signature dictionary ``/Type /DocTimeStamp /Filter /Adobe.PPKLite
/SubFilter /ETSI.RFC3161`` whose ``/Contents`` is an RFC 3161 token over the byte range, an
invisible merged field/widget (``/Rect [0 0 0 0]``) on page 1, the page's ``/Annots`` and the
``/AcroForm``. The update is written by :mod:`sign.pdf.pipeline` (same placeholder, digest and
``finish`` code as ordinary signatures).

* RSA: message imprint SHA-256 (what pyHanko/Acrobat expect).
* GM (SM2 documents): message imprint **SM3** over the byte range, token from an SM2 TSA
  (SM2 signature, SM3 signed-attributes digest) — see ``docs/ltv.md``.
"""
from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from typing import Any, BinaryIO, Union

import pikepdf

from sign.ltv.errors import TIMESTAMP_ERROR, LtvError
from sign.pdf.incremental import IncrementalUpdate, pdf_string
from sign.pdf.pipeline import (_BR_WIDTH, _array_plus, _dict_without, _same_target,
                               _update_acroform_and_catalog, _write_update, abort, finish)
from sign.pdf.structure import PdfStructure
from sign.specs import SignatureSpec
from sign.timestamps import TimestampError, tst_info

Source = Union[str, "os.PathLike[str]", bytes, BinaryIO]
DEFAULT_CAPACITY = 16384
HASH_ALGS = ("sha256", "sm3")


@dataclass(frozen=True)
class _TokenSigner:
    """What the pipeline's writer needs to know about the "signer" of a time-stamp."""

    algorithm: str
    digest_algorithm: str


@dataclass(frozen=True)
class DocTimestampResult:
    output: str | None
    field_name: str
    hash_alg: str
    gen_time: _dt.datetime
    tsa: str
    byte_range: tuple[int, int, int, int]
    token_size: int


def add_doc_timestamp(source: Source, target: Union[str, "os.PathLike[str]", BinaryIO], stamper: Any,
                      *, hash_alg: str = "sha256", field_name: str | None = None,
                      capacity: int = DEFAULT_CAPACITY) -> DocTimestampResult:
    """Time-stamp the whole document with ``stamper`` (a :class:`sign.timestamps.BaseTimeStamper`)."""
    if hash_alg not in HASH_ALGS:
        raise LtvError(TIMESTAMP_ERROR, f"unsupported document time-stamp hash {hash_alg!r}")
    in_place = _same_target(source, target)
    st = PdfStructure(source)
    try:
        up, sig_num, name = _build(st, field_name, capacity)
        base_length = st.length
    except BaseException:
        st.close()
        raise
    st.pdf.close()
    signer = _TokenSigner("sm2" if hash_alg == "sm3" else "rsa", hash_alg)
    try:
        prepared = _write_update(st, source, target, signer, up, sig_num, capacity, name,
                                 _dt.datetime.now(_dt.timezone.utc), base_length, in_place, True)
    finally:
        st.close_file()
    try:
        try:
            token = stamper.timestamp(prepared.digest, hash_alg)
        except TimestampError as exc:
            raise LtvError(TIMESTAMP_ERROR, str(exc)) from None
        der = token.dump()
        if len(der) > capacity:
            raise LtvError(TIMESTAMP_ERROR, f"token of {len(der)} bytes exceeds the {capacity} reserved")
        finish(prepared, der)
    except BaseException:
        abort(prepared)
        raise
    info = tst_info(token)
    tsa = info["tsa"]
    return DocTimestampResult(prepared.output_path, name, hash_alg, info["gen_time"].native,
                              tsa.chosen.human_friendly if tsa.native is not None else "",
                              prepared.byte_range, len(der))


def _build(st: PdfStructure, field_name: str | None, capacity: int):
    names = set(st.field_names())
    if field_name is None:
        k = 1
        while f"DocTimeStamp{k}" in names:
            k += 1
        field_name = f"DocTimeStamp{k}"
    elif field_name in names:
        from sign.pdf.errors import FieldExistsError
        raise FieldExistsError(f"field {field_name!r} exists")
    up = IncrementalUpdate(st)
    sig_num = up.alloc()
    up.add(sig_num, b"<< /Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161"
           + b" /ByteRange [0 " + b" " * (_BR_WIDTH - 1) + b"]"
           + b" /Contents <" + b"0" * (2 * capacity) + b"> >>")
    page = st.page(0).obj
    field_num = up.alloc()
    up.add(field_num, b"<< /Type /Annot /Subtype /Widget /FT /Sig /T " + pdf_string(field_name)
           + b" /V %d 0 R /F 132 /P %d %d R /Rect [0 0 0 0] >>" % ((sig_num,) + page.objgen))
    annots = page.get("/Annots")
    if isinstance(annots, pikepdf.Array) and annots.is_indirect:
        num, gen = annots.objgen
        up.add(num, _array_plus(annots, [field_num]), gen)
    else:
        num, gen = page.objgen
        up.add(num, _dict_without(page, "/Annots") + b"/Annots " + _array_plus(annots, [field_num])
               + b" >>", gen)
    _update_acroform_and_catalog(st, up, SignatureSpec(), sig_num, field_num)
    return up, sig_num, field_name
