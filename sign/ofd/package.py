"""Read (and write) an OFD package (GB/T 33190): a ZIP of XML parts.

``read_ofd(data)`` checks the archive defensively (entry count, sizes, compression ratio, entry
names: no absolute paths, ``..``, backslashes, duplicates), then follows
``OFD.xml -> DocBody/DocRoot -> Document.xml -> Pages``, ``CommonData`` (PageArea, MaxUnitID,
PublicRes/DocumentRes with fonts and multimedia, TemplatePage) and ``Signatures``. Any problem
is an :class:`~sign.ofd.errors.OfdError` with a stable code.

Paths (``ST_Loc``) are kept as package paths without a leading slash (``Doc_0/Document.xml``);
an absolute location starts at the package root, a relative one at the folder of the part that
names it (``BaseLoc`` of a resource file adds its folder).
"""
from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Optional

from lxml import etree

from sign.ofd import xml as X
from sign.ofd.errors import (
    BAD_STRUCTURE, DUPLICATE_ENTRY, ENCRYPTED_ENTRY, MISSING_PART, NOT_ZIP, TOO_MANY_FILES,
    UNSAFE_PATH, ZIP_BOMB, ZIP_TOO_LARGE, OfdError,
)

Box = tuple[float, float, float, float]  # x, y, width, height in mm (OFD: y grows downwards)
A4: Box = (0.0, 0.0, 210.0, 297.0)


@dataclass(frozen=True)
class Limits:
    max_archive_bytes: int = 100 << 20
    max_entries: int = 5000
    max_entry_bytes: int = 64 << 20
    max_total_bytes: int = 256 << 20
    max_ratio: int = 200          # uncompressed/compressed, for entries above ratio_floor
    ratio_floor: int = 1 << 20


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Font:
    id: str
    name: str
    family: str = ""
    file: Optional[str] = None    # package path of an embedded font file


@dataclass(frozen=True)
class Media:
    id: str
    type: str                      # Image, Audio, Video
    format: str                    # PNG, JPEG, JB2 ... (may be empty)
    file: Optional[str]


@dataclass(frozen=True)
class Page:
    id: str
    index: int                     # 0-based order in Document.xml
    path: str                      # Content.xml


@dataclass(frozen=True)
class Document:
    path: str                      # Doc_N/Document.xml
    pages: tuple[Page, ...]
    page_box: Box                  # CommonData/PageArea/PhysicalBox
    max_unit_id: int
    res_paths: tuple[str, ...]     # PublicRes + DocumentRes parts
    fonts: Mapping[str, Font] = field(hash=False)
    media: Mapping[str, Media] = field(hash=False)
    templates: Mapping[str, str] = field(hash=False)   # TemplatePage ID -> Content.xml path
    signatures_path: Optional[str] = None              # Signs/Signatures.xml, if any
    annotations_path: Optional[str] = None

    def page(self, number: int) -> Page:
        """Page by 1-based number."""
        if not 1 <= number <= len(self.pages):
            from sign.ofd.errors import PAGE_OUT_OF_RANGE
            raise OfdError(PAGE_OUT_OF_RANGE, f"page {number} of {len(self.pages)}")
        return self.pages[number - 1]

    def page_by_id(self, page_id: str) -> Optional[Page]:
        return next((p for p in self.pages if p.id == page_id), None)


@dataclass(frozen=True)
class OfdPackage:
    files: Mapping[str, bytes] = field(hash=False)     # every file entry (no directories)
    documents: tuple[Document, ...]
    doc_signatures: tuple[Optional[str], ...]          # DocBody/Signatures per document

    @property
    def document(self) -> Document:
        return self.documents[0]

    def read(self, name: str) -> bytes:
        try:
            return self.files[name]
        except KeyError:
            raise OfdError(MISSING_PART, f"{name} is not in the package") from None

    def xml(self, name: str) -> etree._Element:
        return X.parse_xml(self.read(name), name)

    def page_box(self, page: Page, doc: Optional[Document] = None) -> Box:
        """The page's own Area/PhysicalBox, else the document's."""
        doc = doc or self.document
        try:
            box = X.text(self.xml(page.path), "Area", "PhysicalBox")
            if box:
                return X.floats(box, 4)  # type: ignore[return-value]
        except (OfdError, ValueError):
            pass
        return doc.page_box


# ------------------------------------------------------------------------------ zip layer
def _safe_name(name: str) -> str:
    if "\x00" in name or "\\" in name:
        raise OfdError(UNSAFE_PATH, f"entry name {name!r} has a backslash or NUL")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise OfdError(UNSAFE_PATH, f"entry name {name!r} is absolute")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise OfdError(UNSAFE_PATH, f"entry name {name!r} escapes the package")
    return "/".join(parts)


def read_zip(data: bytes, limits: Limits = DEFAULT_LIMITS) -> dict[str, bytes]:
    """ZIP bytes -> {path: content}, enforcing ``limits``."""
    if len(data) > limits.max_archive_bytes:
        raise OfdError(ZIP_TOO_LARGE, f"archive is {len(data)} bytes (limit {limits.max_archive_bytes})")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise OfdError(NOT_ZIP, f"not an OFD (ZIP) package: {exc}") from None
    if len(infos) > limits.max_entries:
        raise OfdError(TOO_MANY_FILES, f"{len(infos)} entries (limit {limits.max_entries})")
    files: dict[str, bytes] = {}
    total = 0
    for info in infos:
        if info.is_dir():
            _safe_name(info.filename)
            continue
        name = _safe_name(info.filename)
        if not name:
            raise OfdError(UNSAFE_PATH, f"entry name {info.filename!r} is empty")
        if name in files:
            raise OfdError(DUPLICATE_ENTRY, f"{name} appears twice")
        if info.flag_bits & 0x1:
            raise OfdError(ENCRYPTED_ENTRY, f"{name} is encrypted")
        if info.file_size > limits.max_entry_bytes:
            raise OfdError(ZIP_TOO_LARGE, f"{name} is {info.file_size} bytes (limit {limits.max_entry_bytes})")
        try:
            with zf.open(info) as fh:  # never trust the header's size: read at most limit + 1
                content = fh.read(limits.max_entry_bytes + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
                RuntimeError) as exc:
            raise OfdError(NOT_ZIP, f"{name}: cannot be read: {exc}") from None
        if len(content) > limits.max_entry_bytes:
            raise OfdError(ZIP_TOO_LARGE, f"{name} inflates beyond {limits.max_entry_bytes} bytes")
        if len(content) > limits.ratio_floor and len(content) > limits.max_ratio * max(info.compress_size, 1):
            raise OfdError(ZIP_BOMB, f"{name}: compression ratio above {limits.max_ratio}")
        total += len(content)
        if total > limits.max_total_bytes:
            raise OfdError(ZIP_TOO_LARGE, f"package inflates beyond {limits.max_total_bytes} bytes")
        files[name] = content
    return files


def write_zip(files: Mapping[str, bytes]) -> bytes:
    """{path: content} -> ZIP bytes (OFD.xml first, deflated, fixed timestamps)."""
    buf = io.BytesIO()
    order = sorted(files, key=lambda n: (n != "OFD.xml", n))
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name])
    return buf.getvalue()


# ------------------------------------------------------------------------------ locations
def resolve(base_dir: str, loc: Optional[str], files: Optional[Mapping[str, bytes]] = None) -> str:
    """Resolve an ``ST_Loc`` against ``base_dir``; raises ``unsafe_path`` if it leaves the package.

    With ``files``: a relative location that does not exist there but does from the package
    root is taken from the root (producers disagree on this).
    """
    if loc is None or not loc.strip():
        raise OfdError(BAD_STRUCTURE, "empty location")
    loc = loc.strip().replace("\\", "/")
    if loc.startswith("/"):
        joined = loc.lstrip("/")
    else:
        joined = posixpath.join(base_dir, loc) if base_dir else loc
    norm = posixpath.normpath(joined)
    if norm.startswith("../") or norm == ".." or norm.startswith("/"):
        raise OfdError(UNSAFE_PATH, f"location {loc!r} leaves the package")
    norm = "" if norm == "." else norm
    if files is not None and norm not in files:
        candidates = [norm] if loc.startswith("/") else [norm, posixpath.normpath(loc)]
        for cand in candidates:
            if cand in files:
                return cand
            folded = cand.lower()  # producers on Windows: "TPLS/Tpl_0" for "Tpls/Tpl_0"
            match = next((n for n in files if n.lower() == folded), None)
            if match is not None:
                return match
    return norm


def _dir(name: str) -> str:
    return posixpath.dirname(name)


# ------------------------------------------------------------------------------ structure
def read_ofd(data: bytes | str, *, limits: Limits = DEFAULT_LIMITS) -> OfdPackage:
    """Parse an OFD package (bytes or a file path)."""
    if isinstance(data, str):
        try:
            with open(data, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise OfdError(MISSING_PART, f"cannot read {data}: {exc.strerror}") from None
    files = read_zip(bytes(data), limits)
    return parse_package(files)


def parse_package(files: Mapping[str, bytes]) -> OfdPackage:
    if "OFD.xml" not in files:
        raise OfdError(MISSING_PART, "OFD.xml is missing (not an OFD package)")
    root = X.parse_xml(files["OFD.xml"], "OFD.xml")
    if X.local(root) != "OFD":
        raise OfdError(BAD_STRUCTURE, f"OFD.xml root is <{X.local(root)}>, not <ofd:OFD>")
    bodies = list(X.children(root, "DocBody"))
    if not bodies:
        raise OfdError(BAD_STRUCTURE, "OFD.xml has no DocBody")
    docs: list[Document] = []
    sigs: list[Optional[str]] = []
    for body in bodies:
        doc_root = X.text(body, "DocRoot")
        if not doc_root:
            raise OfdError(BAD_STRUCTURE, "DocBody without DocRoot")
        doc_path = resolve("", doc_root, files)
        sig_loc = X.text(body, "Signatures")
        sig_path = resolve("", sig_loc, files) if sig_loc else None
        docs.append(_document(files, doc_path, sig_path))
        sigs.append(sig_path)
    return OfdPackage(MappingProxyType(dict(files)), tuple(docs), tuple(sigs))


def _document(files: Mapping[str, bytes], doc_path: str, sig_path: Optional[str]) -> Document:
    if doc_path not in files:
        raise OfdError(MISSING_PART, f"{doc_path} (DocRoot) is missing")
    root = X.parse_xml(files[doc_path], doc_path)
    if X.local(root) != "Document":
        raise OfdError(BAD_STRUCTURE, f"{doc_path} root is <{X.local(root)}>, not <ofd:Document>")
    base = _dir(doc_path)
    common = X.child(root, "CommonData")
    if common is None:
        raise OfdError(BAD_STRUCTURE, f"{doc_path} has no CommonData")
    try:
        box_text = X.text(common, "PageArea", "PhysicalBox")
        page_box: Box = X.floats(box_text, 4) if box_text else A4  # type: ignore[assignment]
        max_unit = int(X.text(common, "MaxUnitID") or 0)
    except ValueError as exc:
        raise OfdError(BAD_STRUCTURE, f"{doc_path}: bad PageArea/MaxUnitID: {exc}") from None
    res_paths = [resolve(base, r.text, files) for tag in ("PublicRes", "DocumentRes")
                 for r in X.children(common, tag) if r.text and r.text.strip()]
    fonts: dict[str, Font] = {}
    media: dict[str, Media] = {}
    for rp in res_paths:
        if rp not in files:
            raise OfdError(MISSING_PART, f"resource part {rp} is missing")
        _resources(files, rp, fonts, media)
    templates = {t.get("ID", ""): resolve(base, t.get("BaseLoc"), files)
                 for t in X.children(common, "TemplatePage") if t.get("BaseLoc")}
    pages_el = X.child(root, "Pages")
    if pages_el is None:
        raise OfdError(BAD_STRUCTURE, f"{doc_path} has no Pages")
    pages: list[Page] = []
    for i, p in enumerate(X.children(pages_el, "Page")):
        loc = p.get("BaseLoc")
        if not loc:
            raise OfdError(BAD_STRUCTURE, f"{doc_path}: page {i + 1} has no BaseLoc")
        path = resolve(base, loc, files)
        if path not in files:
            raise OfdError(MISSING_PART, f"page {i + 1} content {path} is missing")
        pages.append(Page(p.get("ID", str(i + 1)), i, path))
    if not pages:
        raise OfdError(BAD_STRUCTURE, f"{doc_path} has no pages")
    for tpath in templates.values():
        if tpath not in files:
            raise OfdError(MISSING_PART, f"template {tpath} is missing")
    annots = X.text(root, "Annotations")
    doc_sigs = X.text(root, "Signatures")  # rare: Signatures named in Document.xml
    if sig_path is None and doc_sigs:
        sig_path = resolve(base, doc_sigs, files)
    if sig_path is not None and sig_path not in files:
        raise OfdError(MISSING_PART, f"signature list {sig_path} is missing")
    return Document(doc_path, tuple(pages), page_box, max_unit, tuple(res_paths),
                    MappingProxyType(fonts), MappingProxyType(media), MappingProxyType(templates),
                    sig_path, resolve(base, annots, files) if annots else None)


def _resources(files: Mapping[str, bytes], res_path: str, fonts: dict, media: dict) -> None:
    root = X.parse_xml(files[res_path], res_path)
    base = _dir(res_path)
    if root.get("BaseLoc"):
        base = resolve(base, root.get("BaseLoc"))
    for f in X.iter_local(root, "Font"):
        file_loc = X.text(f, "FontFile")
        fonts[f.get("ID", "")] = Font(f.get("ID", ""), f.get("FontName", ""), f.get("FamilyName", ""),
                                      resolve(base, file_loc, files) if file_loc else None)
    for m in X.iter_local(root, "MultiMedia"):
        file_loc = X.text(m, "MediaFile")
        media[m.get("ID", "")] = Media(m.get("ID", ""), m.get("Type", ""), (m.get("Format") or "").upper(),
                                       resolve(base, file_loc, files) if file_loc else None)
