"""Test helpers: build small PDFs and forge incremental updates / byte-level manipulations.

These helpers manipulate bytes exactly the way an attacker would; they are test data builders,
not part of the product.
"""
from __future__ import annotations

import io
import pathlib
import re

import pikepdf

_STARTXREF = re.compile(rb"startxref\s+(\d+)")


def make_pdf(text: str = "Policy 2026-0001  premium 1,000.00 CNY", pages: int = 1) -> bytes:
    """A small PDF; page i shows ``text`` in Helvetica (font /F1, content in its own stream)."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    for i in range(pages):
        page = pdf.add_blank_page(page_size=(595, 842))
        page.obj.Contents = pdf.make_stream(f"BT /F1 14 Tf 72 760 Td ({text} p{i + 1}) Tj ET".encode())
        page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    buf = io.BytesIO()
    pdf.save(buf, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return buf.getvalue()


def make_form_pdf(value: str | None = None) -> bytes:
    """A 1-page PDF with one text field 'name' (empty, or holding ``value``)."""
    pdf = pikepdf.Pdf.open(io.BytesIO(make_pdf()))
    page = pdf.pages[0]
    ap = pdf.make_stream(b"/Tx BMC EMC", Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Form,
                         BBox=[0, 0, 200, 20])
    field = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, FT=pikepdf.Name.Tx,
        T=pikepdf.String("name"), Rect=[72, 600, 272, 620], F=4,
        DA=pikepdf.String("/Helv 12 Tf 0 g"), AP=pikepdf.Dictionary(N=ap), P=page.obj))
    if value is not None:
        field.V = pikepdf.String(value)
    page.obj.Annots = pdf.make_indirect(pikepdf.Array([field]))
    pdf.Root.AcroForm = pdf.make_indirect(pikepdf.Dictionary(Fields=[field]))
    buf = io.BytesIO()
    pdf.save(buf, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return buf.getvalue()


def fill_field(data: bytes, value: str) -> bytes:
    """Append an update that sets the 'name' field's value and a matching appearance."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        field = next(f for f in pdf.Root.AcroForm.Fields if str(f.get("/T")) == "name")
        objgen = field.objgen
    upd = Update(data)
    text = value.encode()
    ap = upd.put_stream(upd.new_number(), b"/Tx BMC BT /Helv 12 Tf 2 5 Td (" + text + b") Tj ET EMC",
                        b"/Type /XObject /Subtype /Form /BBox [0 0 200 20] ")
    upd.put(objgen[0], unparse(data, objgen, V=b"(" + text + b")", AP=b"<< /N %d 0 R >>" % ap))
    return upd.build()


class Update:
    """An incremental update appended after the last revision of ``data``."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        with pikepdf.open(io.BytesIO(data)) as pdf:
            self.size = int(pdf.trailer.Size)
            self.root = pdf.Root.objgen
            self.page = pdf.pages[0].obj.objgen
        self.prev = int(_STARTXREF.findall(data)[-1])
        self.objects: dict[int, bytes] = {}
        self.raw_xref: dict[int, int] = {}
        self.freed: set[int] = set()

    def new_number(self) -> int:
        num = self.size
        self.size += 1
        return num

    def put(self, num: int, body: bytes) -> int:
        self.objects[num] = body
        return num

    def put_stream(self, num: int, content: bytes, extra: bytes = b"") -> int:
        head = b"<< /Length %d %s>>" % (len(content), extra)
        return self.put(num, head + b"\nstream\n" + content + b"\nendstream")

    def point(self, num: int, offset: int) -> None:
        """Make the xref entry of ``num`` point at an arbitrary offset (object substitution)."""
        self.raw_xref[num] = offset

    def free(self, num: int) -> None:
        """Mark ``num`` free (deleted) in this update's cross-reference table."""
        self.freed.add(num)

    def build(self) -> bytes:
        out = bytearray(self.data)
        if not out.endswith(b"\n"):
            out += b"\n"
        offsets: dict[int, int] = dict(self.raw_xref)
        for num, body in self.objects.items():
            offsets[num] = len(out)
            out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
        xref_at = len(out)
        out += b"xref\n"
        for num in sorted(offsets):
            out += b"%d 1\n%010d 00000 n \n" % (num, offsets[num])
        for num in sorted(self.freed):
            out += b"%d 1\n0000000000 00001 f \n" % num
        size = max(self.size, max(offsets, default=0) + 1)
        out += (b"trailer\n<< /Size %d /Root %d %d R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
                % (size, self.root[0], self.root[1], self.prev, xref_at))
        return bytes(out)


def unparse(data: bytes, objgen: tuple[int, int], **changes: bytes) -> bytes:
    """The dictionary ``objgen`` of ``data`` serialised, with keys replaced by raw PDF syntax."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        obj = pdf.get_object(objgen)
        keys = {str(k): obj.get(k) for k in obj.keys()}
        parts = []
        for key, value in keys.items():
            name = key[1:]
            if name in changes:
                continue
            parts.append(key.encode() + b" " + _ref_or_unparse(value))
        for name, raw in changes.items():
            parts.append(b"/" + name.encode() + b" " + raw)
        return b"<< " + b" ".join(parts) + b" >>"


def _ref_or_unparse(value: object) -> bytes:
    if isinstance(value, pikepdf.Object):
        if value.is_indirect:
            return b"%d %d R" % value.objgen
        return value.unparse()
    if isinstance(value, bool):
        return b"true" if value else b"false"
    return str(value).encode()


def page_info(data: bytes) -> dict[str, object]:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[0].obj
        contents = page.get("/Contents")
        font = page.Resources.Font.get("/F1")
        annots = page.get("/Annots")
        return {
            "page": page.objgen,
            "contents": contents.objgen if contents is not None and contents.is_indirect else None,
            "font": font.objgen if font is not None and font.is_indirect else None,
            "resources": page.get("/Resources").objgen if page.get("/Resources").is_indirect else None,
            "annots": [a.objgen for a in annots] if annots is not None else [],
        }


# ----------------------------------------------------------------- byte-level manipulation
_BR = re.compile(rb"/ByteRange\s*\[([^\]]*)\] *")


def byte_range_span(data: bytes) -> tuple[int, int, list[int]]:
    """(start, end, values) of the last /ByteRange array text."""
    m = list(_BR.finditer(data))[-1]
    return m.start(1), m.end(1), [int(v) for v in m.group(1).split()]


def byte_range_text(values: list[int], width: int) -> bytes:
    """``/ByteRange [..]`` padded with spaces to ``width`` bytes (signers reserve padding)."""
    text = b"/ByteRange [" + b" ".join(str(v).encode() for v in values) + b"]"
    if len(text) > width:
        raise ValueError("new /ByteRange does not fit")
    return text.ljust(width)


def set_byte_range(data: bytes, values: list[int]) -> bytes:
    """Rewrite the last /ByteRange in place (same length: offsets stay valid)."""
    m = list(_BR.finditer(data))[-1]
    return data[:m.start()] + byte_range_text(values, m.end() - m.start()) + data[m.end():]


def contents_hole(data: bytes) -> tuple[int, int]:
    _, _, br = byte_range_span(data)
    return br[0] + br[1], br[2]


def set_contents(data: bytes, der: bytes | None = None, fill: bytes | None = None) -> bytes:
    """Replace the /Contents hex string in place: with ``der`` (zero padded) or a fill byte."""
    a, b = contents_hole(data)
    room = b - a - 2
    if der is not None:
        hexed = der.hex().encode()
        if len(hexed) > room:
            raise ValueError("CMS does not fit")
        body = hexed.ljust(room, b"0")
    else:
        body = (fill or b"0") * room
    return data[:a + 1] + body + data[b - 1:]


def signature_der(data: bytes) -> bytes:
    """The CMS blob (DER, without the zero padding)."""
    from asn1crypto import cms
    a, b = contents_hole(data)
    return cms.ContentInfo.load(bytes.fromhex(data[a + 1:b - 1].decode())).dump()


CORPUS_SUBDIR = "pdf-attacker/shadow-demo-exploits"


def corpus_files(corpus_dir: pathlib.Path, prefix: str) -> list[pathlib.Path]:
    """The pdf-attacker files of one stage (``3`` signed, ``4`` manipulated)."""
    return sorted((corpus_dir / CORPUS_SUBDIR).rglob(f"{prefix}_*.pdf"))
