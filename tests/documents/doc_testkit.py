"""Helpers of the document-engine tests (fixtures are in conftest.py): shipped templates, a red
seal PNG, text extraction and rendering with poppler, red-pixel counting."""
from __future__ import annotations

import io
import json
import pathlib
import re
import subprocess

from PIL import Image

from documents.template import TemplateDef

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
CODES = ("e_policy", "application", "endorsement", "receipt", "claim_form", "agent_agreement",
         "reinsurance", "guarantee_letter")


def load_template(code: str):
    pdf = (TEMPLATES / f"{code}.pdf").read_bytes()
    tpl = TemplateDef.from_json((TEMPLATES / f"{code}.json").read_text(encoding="utf-8"))
    sample = json.loads((TEMPLATES / f"{code}.sample.json").read_text(encoding="utf-8"))
    return pdf, tpl, sample


def red_seal_png(size: int = 240) -> bytes:
    """A red round company seal with a star, transparent background."""
    from PIL import ImageDraw
    im = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.ellipse((6, 6, size - 6, size - 6), outline=(220, 20, 20, 255), width=10)
    d.regular_polygon((size / 2, size / 2, size / 5), 5, fill=(220, 20, 20, 255))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def pdftotext(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=data,
                         capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def render(data: bytes, dpi: int = 50, page: int = 1) -> Image.Image:
    out = subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png", "-"],
                         input=data, capture_output=True, check=True).stdout
    return Image.open(io.BytesIO(out)).convert("RGB")


def red_pixels(im: Image.Image, box_pt, dpi: int = 50, page_h: float = 841.89) -> int:
    s = dpi / 72.0
    x0, y0, x1, y1 = box_pt
    crop = im.crop((int(x0 * s), int((page_h - y1) * s), int(x1 * s) + 1, int((page_h - y0) * s) + 1))
    return sum(1 for r, g, b in crop.getdata() if r > 150 and g < 110 and b < 110)
