"""Serialise an incremental update: new/changed objects, a cross-reference section, trailer.

The bytes of the original file are never touched. The new cross-reference section is a
classic table, or a cross-reference stream when the file's last section was a stream (a
classic table after a stream-only file would hide the object streams from some readers);
``/Prev`` always points to the original ``startxref``.
"""
from __future__ import annotations

import io
import struct
from typing import Dict, List, Tuple

from sign.pdf.structure import PdfStructure


def pdf_string(text: str) -> bytes:
    """A PDF text string: literal for printable ASCII, else UTF-16BE with BOM (hex)."""
    if all(32 <= ord(c) < 127 for c in text):
        esc = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        return b"(" + esc.encode("ascii") + b")"
    return b"<feff" + text.encode("utf-16-be").hex().encode() + b">"


def pdf_num(v: float) -> bytes:
    if float(v).is_integer():
        return b"%d" % int(v)
    s = ("%.4f" % v).rstrip("0").rstrip(".")
    return s.encode()


class IncrementalUpdate:
    """Collects objects and serialises them after the original bytes."""

    def __init__(self, structure: PdfStructure) -> None:
        self.base_length = structure.length
        self.prefix = b"" if structure.xref.ends_with_eol else b"\n"
        self.startxref = structure.xref.startxref
        self.xref_stream = structure.xref.is_stream
        self.trailer_extras = structure.trailer_extras()
        self._next = structure.next_object_number()
        self.objects: List[Tuple[int, int, bytes]] = []

    def fork(self) -> "IncrementalUpdate":
        """A new, empty update of the same file (its facts read once, e.g. a template filled
        many times)."""
        other = IncrementalUpdate.__new__(IncrementalUpdate)
        other.base_length, other.prefix = self.base_length, self.prefix
        other.startxref, other.xref_stream = self.startxref, self.xref_stream
        other.trailer_extras, other._next = self.trailer_extras, self._next
        other.objects = []
        return other

    def alloc(self) -> int:
        n = self._next
        self._next += 1
        return n

    def add(self, num: int, body: bytes, gen: int = 0) -> None:
        self.objects.append((num, gen, body))

    def serialize(self) -> Tuple[bytes, Dict[int, int]]:
        """The appended bytes and, per object number, its offset *within* them."""
        buf = io.BytesIO()
        buf.write(self.prefix)
        offsets: Dict[int, int] = {}
        entries: Dict[int, Tuple[int, int]] = {}
        for num, gen, body in self.objects:
            off = buf.tell()
            offsets[num] = off
            entries[num] = (self.base_length + off, gen)
            buf.write(b"%d %d obj\n" % (num, gen))
            buf.write(body)
            buf.write(b"\nendobj\n")
        if self.xref_stream:
            xnum = self.alloc()
            xoff = buf.tell()
            entries[xnum] = (self.base_length + xoff, 0)
            size = self._next
            width = max(4, ((self.base_length + xoff).bit_length() + 7) // 8)
            index, rows = [], []
            for start, run in _runs(sorted(entries)):
                index += [start, len(run)]
                for n in run:
                    off, gen = entries[n]
                    rows.append(b"\x01" + off.to_bytes(width, "big") + struct.pack(">H", gen))
            data = b"".join(rows)
            buf.write(b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 %d 2] /Index [%s] %s /Prev %d"
                      b" /Length %d >>\nstream\n" % (
                          xnum, size, width, b" ".join(b"%d" % i for i in index),
                          self.trailer_extras, self.startxref, len(data)))
            buf.write(data)
            buf.write(b"\nendstream\nendobj\n")
            buf.write(b"startxref\n%d\n%%%%EOF\n" % (self.base_length + xoff))
        else:
            xoff = buf.tell()
            buf.write(b"xref\n")
            for start, run in _runs(sorted(entries)):
                buf.write(b"%d %d\n" % (start, len(run)))
                for n in run:
                    off, gen = entries[n]
                    buf.write(b"%010d %05d n\r\n" % (off, gen))
            buf.write(b"trailer\n<< /Size %d %s /Prev %d >>\n" % (
                self._next, self.trailer_extras, self.startxref))
            buf.write(b"startxref\n%d\n%%%%EOF\n" % (self.base_length + xoff))
        return buf.getvalue(), offsets


def _runs(nums: List[int]):
    run: List[int] = []
    for n in nums:
        if run and n == run[-1] + 1:
            run.append(n)
        else:
            if run:
                yield run[0], run
            run = [n]
    if run:
        yield run[0], run
