"""Helpers for the PDF signing tests: PDF generators (incl. Chinese CID-font text), a
transparent PNG seal, pyHanko validation and poppler ``pdfsig``. Fixtures are in conftest.py."""
from __future__ import annotations

import io
import pathlib
import shutil
import subprocess
from typing import Iterable, Sequence

import pikepdf
import pytest


TOUNICODE_TMPL = b"""/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
%d beginbfchar
%s
endbfchar
endcmap
CMapName currentdict /CIDInit /ProcSet findresource /CIDFont defineresource pop
end
end
"""


def _cid_font(pdf: pikepdf.Pdf, mode: str, cid_of: dict[str, int]) -> pikepdf.Object:
    desc = pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType0,
        BaseFont=pikepdf.Name("/STSong-Light"),
        CIDSystemInfo=pikepdf.Dictionary(Registry=pikepdf.String("Adobe"),
                                         Ordering=pikepdf.String("GB1"), Supplement=2),
        FontDescriptor=pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name("/STSong-Light"), Flags=6,
            FontBBox=[-25, -254, 1000, 880], ItalicAngle=0, Ascent=880, Descent=-120,
            CapHeight=880, StemV=93)),
        DW=1000, W=pikepdf.Array([1, 95, 500]))  # GB1: CIDs 1-95 are half-width ASCII
    font = pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0,
                              BaseFont=pikepdf.Name("/STSong-Light"),
                              DescendantFonts=[pdf.make_indirect(desc)])
    if mode == "ucs2":
        font.Encoding = pikepdf.Name("/UniGB-UCS2-H")
    else:  # Identity-H with a ToUnicode CMap (codes are arbitrary CIDs)
        font.Encoding = pikepdf.Name("/Identity-H")
        lines = b"\n".join(b"<%04X> <%s>" % (cid, ch.encode("utf-16-be").hex().upper().encode())
                           for ch, cid in cid_of.items())
        font.ToUnicode = pdf.make_stream(TOUNICODE_TMPL % (len(cid_of), lines))
    return pdf.make_indirect(font)


def make_pdf(path: pathlib.Path | None = None, pages: Sequence[Sequence[tuple[float, float, str]]] = ((),),
             *, cjk_mode: str = "ucs2", object_streams: bool = False,
             size: tuple[float, float] = (595, 842)) -> bytes:
    """A PDF whose page i shows each (x, y, text) of ``pages[i]`` at 14 pt.

    ASCII-only text uses Helvetica; text with CJK uses STSong-Light (Type0): with
    ``cjk_mode="ucs2"`` the /UniGB-UCS2-H CMap, with ``"identity"`` Identity-H + /ToUnicode.
    """
    pdf = pikepdf.new()
    chars = sorted({c for page in pages for _, _, t in page for c in t})
    cid_of = {c: (ord(c) - 31 if 32 <= ord(c) < 127 else 1000 + i) for i, c in enumerate(chars)}
    helv = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    cjk = _cid_font(pdf, cjk_mode, cid_of)
    for page in pages:
        ops = []
        for x, y, text in page:
            if all(ord(c) < 128 for c in text):
                s = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
                ops.append(f"BT /F1 14 Tf {x} {y} Td ({s}) Tj ET")
            elif cjk_mode == "ucs2":
                ops.append(f"BT /F2 14 Tf {x} {y} Td <{text.encode('utf-16-be').hex()}> Tj ET")
            else:
                hexs = "".join("%04x" % cid_of[c] for c in text)
                ops.append(f"BT /F2 14 Tf {x} {y} Td <{hexs}> Tj ET")
        p = pdf.add_blank_page(page_size=size)
        p.obj.Contents = pdf.make_stream("\n".join(ops).encode())
        p.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=helv, F2=cjk))
    buf = io.BytesIO()
    mode = pikepdf.ObjectStreamMode.generate if object_streams else pikepdf.ObjectStreamMode.disable
    pdf.save(buf, object_stream_mode=mode)
    data = buf.getvalue()
    if path is not None:
        path.write_bytes(data)
    return data


def seal_png(size: int = 200) -> bytes:
    """A red circular seal on a transparent background."""
    from PIL import Image, ImageDraw
    im = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.ellipse((4, 4, size - 4, size - 4), outline=(220, 0, 0, 255), width=8)
    d.regular_polygon((size / 2, size / 2, size / 6), 5, fill=(220, 0, 0, 255))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


# ------------------------------------------------------------------------------ checkers
def pyhanko_status(path: pathlib.Path, trust_roots: Iterable, fields: Iterable[str] | None = None) -> list:
    """validate_pdf_signature status of every embedded signature (or of ``fields``), in file order."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    out = []
    with open(path, "rb") as fh:
        reader = PdfFileReader(fh)
        for sig in reader.embedded_signatures:
            if fields is not None and sig.field_name not in fields:
                continue
            vc = ValidationContext(trust_roots=list(trust_roots), allow_fetching=False,
                                   revocation_mode="soft-fail")
            out.append((sig.field_name, validate_pdf_signature(sig, vc)))
    return out


def pdfsig(path: pathlib.Path) -> str:
    if shutil.which("pdfsig") is None:
        pytest.skip("poppler pdfsig not installed")
    res = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=30)
    return res.stdout + res.stderr


def pdfsig_validations(path: pathlib.Path) -> list[str]:
    """The 'Signature Validation:' value per signature.

    Trust: pdfsig checks the signer's chain against the NSS database, where our test root is not
    installed, so 'Certificate Validation' says "issuer isn't Trusted"; we require only the
    cryptographic "Signature is Valid" (trust is asserted with pyHanko and our own root)."""
    return [line.split(":", 1)[1].strip() for line in pdfsig(path).splitlines()
            if "Signature Validation:" in line]
