"""Byte-level PDF scanning: input loading, revision boundaries and cross-reference sections."""
from __future__ import annotations

import dataclasses
import os
import pathlib
import re
from typing import Any

from . import errors as E

_EOF_RE = re.compile(rb"%%EOF[ \t\x00]*(?:\r\n|\r|\n)?")
_OBJ_HEADER_RE = re.compile(rb"[\s\x00]*(\d+)\s+(\d+)\s+obj\b")
_XREF_RE = re.compile(rb"(?<![A-Za-z])xref\s")
_TOKEN_RE = re.compile(rb"\d+|[nf](?![A-Za-z])|trailer")
_WS = b" \t\r\n\x00\x0c"


def load_input(src: Any) -> bytes:
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
    elif isinstance(src, (str, os.PathLike)):
        try:
            data = pathlib.Path(src).read_bytes()
        except OSError as exc:
            raise E.PdfVerifyError(E.UNREADABLE_FILE, f"cannot read {src}: {exc.strerror}") from None
    else:
        raise E.PdfVerifyError(E.INPUT_TYPE, f"expected bytes or a path, got {type(src).__name__}")
    if not data:
        raise E.PdfVerifyError(E.EMPTY_INPUT, "the input is empty")
    if b"%PDF-" not in data[:1024]:
        raise E.PdfVerifyError(E.NOT_A_PDF, "no %PDF- header in the first 1024 bytes")
    return data


def revision_ends(data: bytes) -> list[int]:
    """Offsets just after each %%EOF marker (plus its end-of-line): one per saved revision."""
    ends = [m.end() for m in _EOF_RE.finditer(data)]
    if not ends or data[ends[-1]:].strip(_WS):
        ends.append(len(data))  # trailing bytes without %%EOF: an unterminated last revision
    return ends


_UPDATE_SYNTAX = re.compile(rb"\bobj\b|\bxref\b|\btrailer\b|\bstartxref\b")


def is_truncated(data: bytes, damaged: bool) -> bool:
    """No final %%EOF and either a broken structure or the start of an unfinished update."""
    tail_at = data.rfind(b"%%EOF")
    tail = data[tail_at + 5:] if tail_at >= 0 else data
    if not tail.strip(_WS):
        return False
    return damaged or tail_at < 0 or bool(_UPDATE_SYNTAX.search(tail))


def is_revision_boundary(data: bytes, offset: int, ends: list[int]) -> bool:
    """True when ``offset`` ends a revision (whitespace between the marker and offset tolerated)."""
    if offset in ends:
        return True
    tail = data[max(0, offset - 64):offset].rstrip(_WS)
    return tail.endswith(b"%%EOF")


def obj_header_at(data: bytes, offset: int) -> tuple[int, int] | None:
    if offset < 0 or offset >= len(data):
        return None
    m = _OBJ_HEADER_RE.match(data, offset)
    return (int(m.group(1)), int(m.group(2))) if m else None


@dataclasses.dataclass(frozen=True)
class XrefEntry:
    num: int
    gen: int
    offset: int
    in_use: bool


def table_entries(section: bytes, base: int = 0) -> list[XrefEntry]:
    """Entries of the classic ``xref`` tables found in ``section`` (tolerant: ignores junk)."""
    out: list[XrefEntry] = []
    for m in _XREF_RE.finditer(section):
        out.extend(_parse_table(section, m.end()))
    return out


def _parse_table(section: bytes, pos: int) -> list[XrefEntry]:
    end = section.find(b"trailer", pos)
    body = section[pos:end if end >= 0 else len(section)]
    toks = body.split()
    out: list[XrefEntry] = []
    i = 0
    while i + 1 < len(toks) and toks[i].isdigit() and toks[i + 1].isdigit():
        start, count = int(toks[i]), int(toks[i + 1])
        i += 2
        for k in range(count):
            if i + 3 > len(toks):
                return out
            off, gen, kind = toks[i:i + 3]
            if not (off.isdigit() and gen.isdigit() and kind in (b"n", b"f")):
                return out
            out.append(XrefEntry(start + k, int(gen), int(off), kind == b"n"))
            i += 3
    return out


_XREF_TYPE_RE = re.compile(rb"/Type\s*/XRef(?![A-Za-z])")
_LAST_HEADER_RE = re.compile(rb"(\d+)\s+(\d+)\s+obj(?!.*\bobj\b)", re.S)


def stream_entries(pdf: Any, section: bytes) -> list[XrefEntry]:
    """Entries of cross-reference streams defined in ``section`` (decoded through pikepdf)."""
    out: list[XrefEntry] = []
    for m in _XREF_TYPE_RE.finditer(section):
        window = section[max(0, m.start() - 512):m.start()]
        head = _LAST_HEADER_RE.search(window)
        if head is None:
            continue
        try:
            obj = pdf.get_object(int(head.group(1)), int(head.group(2)))
            out.extend(_decode_xref_stream(obj))
        except Exception:  # a broken xref stream is reported through the damaged flag
            continue
    return out


def _decode_xref_stream(obj: Any) -> list[XrefEntry]:
    widths = [int(w) for w in obj.get("/W")]
    size = int(obj.get("/Size"))
    index = [int(v) for v in obj.get("/Index", [0, size])]
    raw = obj.read_bytes()
    row = sum(widths)
    out: list[XrefEntry] = []
    pos = 0
    for start, count in zip(index[::2], index[1::2]):
        for k in range(count):
            if pos + row > len(raw):
                return out
            fields, p = [], pos
            for w in widths:
                fields.append(int.from_bytes(raw[p:p + w], "big") if w else None)
                p += w
            pos += row
            kind = fields[0] if widths[0] else 1
            if kind == 1:
                out.append(XrefEntry(start + k, fields[2] or 0, fields[1] or 0, True))
            elif kind == 0:
                out.append(XrefEntry(start + k, fields[2] or 0, 0, False))
            # kind 2 (in an object stream) is resolved through the object stream itself
    return out


def live_offsets(entries: list[XrefEntry]) -> dict[int, int]:
    """Object number -> offset, later sections overriding earlier ones (file order)."""
    table: dict[int, int] = {}
    for e in entries:
        if e.in_use:
            table[e.num] = e.offset
        else:
            table.pop(e.num, None)
    return table
