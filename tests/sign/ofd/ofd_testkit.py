"""Helpers of the OFD tests (no conftest imports): documents, seals, zip surgery."""
from __future__ import annotations

import functools
import io
import zipfile
from typing import Callable, Optional

from sign.ofd.generate import Image, Line, PageSpec, Text, generate_ofd
from tests.gmssl_check import gmssl_verify_cert

KEYWORD = "投保人签章"


@functools.lru_cache(maxsize=1)
def seal_png() -> bytes:
    from sign.seals.render import render_seal
    from sign.seals.specs import SealKind, SealSpec

    return render_seal(SealSpec(kind=SealKind.OFFICIAL, text="测试保险股份有限公司"), size_px=240)


def policy_ofd(pages: int = 1) -> bytes:
    """A small e-policy: title, lines, a keyword line, an image; ``pages`` pages."""
    specs = []
    for i in range(pages):
        items = [Text("电子保单 第%d页" % (i + 1), 20, 15, size=6),
                 Line(20, 25, 190, 25, width=0.3),
                 Text("投保人：张三  被保险人：李四  保险金额：人民币 500,000 元", 20, 32, size=4),
                 Image(seal_png(), 160, 250, 20, 20)]
        if i == pages - 1:
            items.append(Text(f"{KEYWORD}：", 120, 200, size=5))
        specs.append(PageSpec(items))
    return generate_ofd(specs, title="电子保单", doc_id="0123456789abcdef0123456789abcdef")


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}


def rezip(files: dict[str, bytes], *, extra: Optional[list[tuple[str, bytes]]] = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
        for name, content in extra or []:
            zf.writestr(name, content)
    return buf.getvalue()


def modify(data: bytes, name: str, fn: Callable[[bytes], bytes]) -> bytes:
    files = entries(data)
    files[name] = fn(files[name])
    return rezip(files)


def flip(content: bytes, pos: Optional[int] = None) -> bytes:
    """Change one byte (default: the middle one)."""
    pos = len(content) // 2 if pos is None else pos
    out = bytearray(content)
    out[pos] ^= 0x01
    return bytes(out)


def remove(data: bytes, name: str) -> bytes:
    files = entries(data)
    del files[name]
    return rezip(files)


def add(data: bytes, name: str, content: bytes) -> bytes:
    files = entries(data)
    files[name] = content
    return rezip(files)


def gmssl_verify(cert, signature_der: bytes, data: bytes) -> bool:
    """Independent SM2 check (gmssl, default user ID)."""
    return gmssl_verify_cert(cert, signature_der, data)
