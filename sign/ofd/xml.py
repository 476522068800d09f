"""Safe XML parsing and namespace-tolerant navigation of OFD parts.

OFD parts use the namespace ``http://www.ofdspec.org/2016`` (some producers write
``http://www.ofdspec.org`` or none at all), so elements are matched by local name only.
"""
from __future__ import annotations

from typing import Iterator, Optional

from lxml import etree

from sign.ofd.errors import BAD_XML, OfdError

OFD_NS = "http://www.ofdspec.org/2016"
NSMAP = {"ofd": OFD_NS}

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                          remove_comments=True, remove_pis=True)


def parse_xml(data: bytes, name: str = "") -> etree._Element:
    """Parse one part; DTDs (entity tricks) and malformed XML give ``OfdError(bad_xml)``."""
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data:
        raise OfdError(BAD_XML, f"{name}: DTD/entities are not allowed in OFD parts")
    try:
        root = etree.fromstring(data, _PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise OfdError(BAD_XML, f"{name}: {exc}") from None
    if root is None:
        raise OfdError(BAD_XML, f"{name}: empty document")
    return root


def local(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def children(el: etree._Element, name: str) -> Iterator[etree._Element]:
    for c in el:
        if local(c) == name:
            yield c


def child(el: Optional[etree._Element], name: str) -> Optional[etree._Element]:
    if el is None:
        return None
    return next(children(el, name), None)


def path(el: Optional[etree._Element], *names: str) -> Optional[etree._Element]:
    for n in names:
        el = child(el, n)
    return el


def text(el: Optional[etree._Element], *names: str) -> Optional[str]:
    node = path(el, *names)
    if node is None or node.text is None:
        return None
    return node.text.strip()


def iter_local(el: etree._Element, name: str) -> Iterator[etree._Element]:
    """All descendants (document order) with local name ``name``."""
    for node in el.iter():
        if local(node) == name:
            yield node


def q(name: str) -> str:
    """Clark name in the OFD namespace (for building parts)."""
    return f"{{{OFD_NS}}}{name}"


def floats(value: Optional[str], n: Optional[int] = None) -> tuple[float, ...]:
    """``"0 0 210 297"`` -> floats; ValueError on junk or a wrong count."""
    if value is None:
        raise ValueError("missing value")
    out = tuple(float(v) for v in value.replace(",", " ").split())
    if n is not None and len(out) != n:
        raise ValueError(f"expected {n} numbers, got {len(out)}")
    return out


def serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
