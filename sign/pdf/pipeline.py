"""The signing pipeline as named steps.

``prepare`` (reserve /Contents, append field + appearance, write the incremental update and
hash the byte range while writing) → ``PreparedSignature`` (serialisable: the pause, e.g. for
intent confirmation) → ``sign`` (CMS from the digest, :mod:`sign.cms`) → ``finish`` (write the
hex CMS into the reserved /Contents, in place).

Memory: the input is copied to the output in 1 MiB chunks and hashed on the way; only the
appended update (a few KiB plus the appearance image) is held in memory. A 200 MB input costs a
few MB of RSS.
"""
from __future__ import annotations

import base64
import datetime as _dt
import io
import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Dict, List, Optional, Sequence, Tuple, Union

import pikepdf

from sign import cms as cms_mod
from sign.pdf import appearance as ap_mod
from sign.pdf.errors import (BadSpecError, DocMDPError, FieldExistsError, KeywordNotFoundError,
                             OutputError, PageOutOfRangeError, PreparedSignatureError,
                             SignatureTooLargeError)
from sign.pdf.geometry import PageGeometry
from sign.pdf.incremental import IncrementalUpdate, pdf_num, pdf_string
from sign.pdf.structure import PdfStructure
from sign.pdf.text import find_keyword
from sign.specs import AppearanceSpec, SignatureSpec

if TYPE_CHECKING:  # pragma: no cover - sign.signers imports sign.pdf.errors
    from sign.signers import Signer

Source = Union[str, os.PathLike, bytes, BinaryIO]
Target = Union[str, os.PathLike, BinaryIO]
CHUNK = 1 << 20
_BR_WIDTH = 36  # room for "%d %d %d]" of a > 4 GB file


@dataclass
class PreparedSignature:
    """A document with its signature field and /Contents placeholder written, not yet signed.

    ``to_json``/``from_json`` persist it (file path, byte range, digest ...) so the signature
    can be produced later or elsewhere; in-memory outputs (BytesIO) cannot be persisted.
    """

    output_path: Optional[str]
    byte_range: Tuple[int, int, int, int]
    contents_offset: int          # offset of the first hex digit inside <...>
    contents_capacity: int        # bytes of DER that fit
    digest: bytes
    digest_alg: str
    field_name: str
    sub_filter: str
    signing_time: _dt.datetime
    algorithm: str
    base_length: int = 0          # length of the input: where this update starts
    in_place: bool = False        # the update was appended to the input itself
    stream: Optional[BinaryIO] = field(default=None, repr=False, compare=False)

    def to_json(self) -> str:
        """JSON for a later :meth:`from_json`; an in-memory output travels as base64."""
        data = None
        if self.output_path is None:
            if self.stream is None:
                raise PreparedSignatureError("nothing to persist: no path and no stream")
            self.stream.seek(0)
            data = base64.b64encode(self.stream.read()).decode()
        return json.dumps({
            "output_path": self.output_path, "data": data, "base_length": self.base_length,
            "in_place": self.in_place, "byte_range": list(self.byte_range),
            "contents_offset": self.contents_offset,
            "contents_capacity": self.contents_capacity,
            "digest": base64.b64encode(self.digest).decode(), "digest_alg": self.digest_alg,
            "field_name": self.field_name, "sub_filter": self.sub_filter,
            "signing_time": self.signing_time.isoformat(), "algorithm": self.algorithm,
        })

    @classmethod
    def from_json(cls, data: str) -> "PreparedSignature":
        try:
            d = json.loads(data)
            stream = io.BytesIO(base64.b64decode(d["data"])) if d.get("data") else None
            return cls(d["output_path"], tuple(d["byte_range"]), int(d["contents_offset"]),
                       int(d["contents_capacity"]), base64.b64decode(d["digest"]),
                       d["digest_alg"], d["field_name"], d["sub_filter"],
                       _dt.datetime.fromisoformat(d["signing_time"]), d["algorithm"],
                       int(d.get("base_length", 0)), bool(d.get("in_place", False)), stream)
        except (ValueError, KeyError, TypeError) as exc:
            raise PreparedSignatureError(f"bad prepared signature: {exc}") from exc


@dataclass(frozen=True)
class SignResult:
    output: Optional[str]
    field_name: str
    algorithm: str
    byte_range: Tuple[int, int, int, int]
    digest: bytes
    cms_size: int


# ------------------------------------------------------------------------------ helpers
def _pdf_date(t: _dt.datetime) -> bytes:
    t = t.astimezone(_dt.timezone.utc)
    return b"(D:" + t.strftime("%Y%m%d%H%M%S").encode() + b"+00'00')"


def _same_target(source: Source, target: Target) -> bool:
    if source is target:
        return True
    if isinstance(source, (str, os.PathLike)) and isinstance(target, (str, os.PathLike)):
        try:
            return os.path.samefile(source, target)
        except OSError:
            return False
    return False


Placement = Tuple[int, Tuple[float, float, float, float], int]  # page index, user rect, /Rotate


def _placements(st: PdfStructure, app: AppearanceSpec) -> List[Placement]:
    """(page index, user-space (x0, y0, x1, y1), page rotation) of each widget."""
    n = st.page_count
    if app.page is not None and app.page > n:
        raise PageOutOfRangeError(f"page {app.page} out of range (document has {n} pages)")
    if not app.visible:
        return [((app.page or 1) - 1, (0.0, 0.0, 0.0, 0.0), 0)]
    if app.rect is not None:
        pi = app.page - 1  # type: ignore[operator]
        geo = PageGeometry.of(st.page(pi).obj)
        return [(pi, geo.visual_rect_to_user(*app.rect), geo.rotate)]
    pages = [app.page - 1] if app.page is not None else range(n)
    hits = find_keyword(st.pdf, app.keyword, pages)  # type: ignore[arg-type]
    if not hits:
        where = f"page {app.page}" if app.page is not None else "the document"
        raise KeywordNotFoundError(f"keyword {app.keyword!r} not found in {where}")
    if app.occurrence == "first":
        hits = hits[:1]
    elif app.occurrence == "last":
        hits = hits[-1:]
    w, h = app.size
    dx, dy = app.offset
    out = []
    for pi, box in hits:
        geo = PageGeometry.of(st.page(pi).obj)
        vx0, vy0, vx1, vy1 = geo.user_rect_to_visual(box)  # offset and size are visual
        cx, cy = (vx0 + vx1) / 2 + dx, (vy0 + vy1) / 2 + dy
        out.append((pi, geo.visual_rect_to_user(cx - w / 2, cy - h / 2, w, h), geo.rotate))
    return out


def _rect(r: Sequence[float]) -> bytes:
    return b"[" + b" ".join(pdf_num(v) for v in r) + b"]"


def _dict_without(obj: pikepdf.Dictionary, *keys: str) -> bytes:
    """Unparse a dictionary without some keys, leaving the closing ``>>`` off."""
    for k in keys:
        if k in obj:
            del obj[k]
    body = obj.unparse(resolved=True)
    assert body.endswith(b">>")
    return body[:-2].rstrip() + b" "


def _array_plus(arr: Optional[pikepdf.Object], refs: Sequence[int]) -> bytes:
    items = b""
    if isinstance(arr, pikepdf.Array):
        items = arr.unparse(resolved=True).strip()[1:-1].strip()
    new = b" ".join(b"%d 0 R" % r for r in refs)
    return b"[" + b" ".join(x for x in (items, new) if x) + b"]"


# ------------------------------------------------------------------------------ prepare
def prepare(source: Source, target: Target, signer: Signer, spec: SignatureSpec,
            *, signing_time: Optional[_dt.datetime] = None,
            keep_open: bool = False) -> PreparedSignature:
    """Append the signature field/appearance with an empty /Contents and hash the byte range.

    ``source`` and ``target`` may be the same path (or the same stream): the update is then
    appended in place without copying.
    """
    if spec.alg is not None and spec.alg != signer.algorithm:
        raise BadSpecError(f"spec wants {spec.alg} but the signer's key is {signer.algorithm}")
    signing_time = signing_time or _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    in_place = _same_target(source, target)
    st = PdfStructure(source)
    try:
        update, sig_num, capacity, field_name = _build_update(st, signer, spec, signing_time)
        base_length = st.length
    except BaseException:
        st.close()
        raise
    st.pdf.close()
    try:
        return _write_update(st, source, target, signer, update, sig_num, capacity, field_name,
                             signing_time, base_length, in_place, keep_open)
    finally:
        st.close_file()


def _write_update(st: PdfStructure, source: Source, target: Target, signer: Signer,
                  update: IncrementalUpdate, sig_num: int, capacity: int, field_name: str,
                  signing_time: _dt.datetime, base_length: int, in_place: bool,
                  keep_open: bool) -> PreparedSignature:
    appended, offsets = update.serialize()

    # locate the placeholders inside the signature dictionary (first object of the update)
    sig_start = offsets[sig_num]
    lt = appended.index(b"/Contents <", sig_start) + len(b"/Contents ")
    gt = lt + 1 + 2 * capacity
    assert appended[gt:gt + 1] == b">"
    br_at = appended.index(b"/ByteRange [0 ", sig_start) + len(b"/ByteRange [0 ")
    total = base_length + len(appended)
    byte_range = (0, base_length + lt, base_length + gt + 1, total - (base_length + gt + 1))
    br_txt = (b"%d %d %d]" % byte_range[1:]).ljust(_BR_WIDTH)
    appended = appended[:br_at] + br_txt + appended[br_at + _BR_WIDTH:]

    h = cms_mod.new_hash(signer.digest_algorithm)
    out_path: Optional[str] = None
    stream: Optional[BinaryIO] = None
    if isinstance(target, (str, os.PathLike)):
        out_path = os.fspath(target)
        if in_place:
            st.close_file()
            fh = open(out_path, "r+b")
            try:
                _hash_file(fh, h, base_length)
                fh.seek(base_length)
                fh.truncate()
                fh.write(appended)
            except BaseException:
                fh.close()
                raise
        else:
            try:
                fh = open(out_path, "w+b")
            except OSError as exc:
                raise OutputError(f"cannot write {out_path}: {exc.strerror}") from exc
            try:
                _copy_hash(st.file, fh, h, base_length)
                fh.write(appended)
            except BaseException:
                fh.close()
                raise
        if keep_open:
            stream = fh
        else:
            fh.close()
    else:
        stream = target
        if in_place:
            _hash_file(stream, h, base_length)
            stream.seek(base_length)
            stream.truncate()
        else:
            stream.seek(0)
            stream.truncate()
            _copy_hash(st.file, stream, h, base_length)
        stream.write(appended)
        stream.flush()
    h.update(memoryview(appended)[:lt])
    h.update(memoryview(appended)[gt + 1:])
    return PreparedSignature(out_path, byte_range, base_length + lt + 1, capacity, h.digest(),
                             signer.digest_algorithm, field_name, cms_mod.sub_filter_for(signer),
                             signing_time, signer.algorithm, base_length, in_place, stream)


def _hash_file(fh: BinaryIO, h, length: int) -> None:
    fh.seek(0)
    left = length
    while left:
        chunk = fh.read(min(CHUNK, left))
        if not chunk:
            raise PreparedSignatureError("input shrank while signing")
        h.update(chunk)
        left -= len(chunk)


def _copy_hash(src: BinaryIO, out: BinaryIO, h, length: int) -> None:
    """Copy exactly ``length`` bytes (the structure that was read) and hash them."""
    src.seek(0)
    buf = bytearray(CHUNK)
    mv = memoryview(buf)
    left = length
    while left:
        n = src.readinto(mv[:min(CHUNK, left)])  # type: ignore[attr-defined]
        if not n:
            raise PreparedSignatureError("input shrank while signing")
        h.update(mv[:n])
        out.write(mv[:n])
        left -= n


def _build_update(st: PdfStructure, signer: Signer, spec: SignatureSpec,
                  signing_time: _dt.datetime):
    n_sigs = st.signature_count()
    level = st.docmdp_level()
    if spec.certify is not None and n_sigs:
        raise DocMDPError("a certification signature must be the first signature")
    if level == 1:
        raise DocMDPError("the document is certified with 'no changes allowed' (DocMDP P=1)")
    names = set(st.field_names())
    existing: Optional[pikepdf.Dictionary] = None
    if spec.field_name is not None:
        if spec.field_name in names:
            existing = st.field(spec.field_name)
            if existing is None or existing.get("/FT") != pikepdf.Name.Sig:
                raise FieldExistsError(f"field {spec.field_name!r} exists and is not a "
                                       "signature field")
            if "/V" in existing:
                raise FieldExistsError(f"signature field {spec.field_name!r} is already signed")
        field_name = spec.field_name
    else:
        k = st.signature_field_count() + 1
        while f"Signature{k}" in names:
            k += 1
        field_name = f"Signature{k}"

    app = spec.appearance
    if existing is None and app.visible and app.rect is None and app.keyword is None:
        raise BadSpecError("a visible appearance needs a rect or a keyword (or an existing "
                           "empty signature field to fill)")
    places = _placements(st, app) if existing is None else []
    capacity = spec.contents_size or cms_mod.estimate_size(signer, spec.timestamper)

    up = IncrementalUpdate(st)
    sig_num = up.alloc()
    # --- signature dictionary (first object: the placeholders are searched from here)
    parts = [b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /"
             + cms_mod.sub_filter_for(signer).encode(),
             b" /ByteRange [0 " + b" " * (_BR_WIDTH - 1) + b"]",
             b" /Contents <" + b"0" * (2 * capacity) + b">",
             b" /M " + _pdf_date(signing_time)]
    for key, val in ((b"/Reason", spec.reason), (b"/Location", spec.location),
                     (b"/ContactInfo", spec.contact), (b"/Name", spec.name)):
        if val:
            parts.append(b" " + key + b" " + pdf_string(val))
    if spec.certify is not None:
        parts.append(b" /Reference [<< /Type /SigRef /TransformMethod /DocMDP /TransformParams"
                     b" << /Type /TransformParams /P %d /V /1.2 >> >>]" % spec.certify)
    parts.append(b" >>")
    up.add(sig_num, b"".join(parts))

    if existing is not None:
        _fill_existing_field(st, up, existing, sig_num, app)
        _update_acroform_and_catalog(st, up, spec, sig_num, None)
        return up, sig_num, capacity, field_name

    # --- appearance: one image, one form XObject per (rotation, size), shared by the widgets
    ap_for: Dict[int, Optional[int]] = {}  # placement index -> appearance object number
    if app.visible:
        img = ap_mod.decode_png(app.image)  # type: ignore[arg-type]
        img_num = up.alloc()
        smask_num = up.alloc() if img.alpha is not None else None
        for num, body in ap_mod.image_objects(img, img_num, smask_num):
            up.add(num, body)
        forms: Dict[Tuple[int, float, float], int] = {}
        for k, (_pi, (x0, y0, x1, y1), rot) in enumerate(places):
            key = (rot, round(x1 - x0, 4), round(y1 - y0, 4))
            if key not in forms:
                forms[key] = up.alloc()
                up.add(forms[key], ap_mod.form_xobject(x1 - x0, y1 - y0, img_num, rot))
            ap_for[k] = forms[key]

    # --- field and widgets
    page_objs = {pi: st.page(pi).obj for pi in {p for p, _, _ in places}}
    widget_nums: List[Tuple[int, int]] = []  # (page index, widget num)
    field_num = up.alloc()

    def ap_ref(k: int) -> bytes:
        return b" /AP << /N %d 0 R >>" % ap_for[k] if k in ap_for else b""

    # One signature field with a single (merged) widget at the first placement. Further
    # placements (occurrence="all") are locked /Stamp annotations sharing the appearance and
    # covered by the same signature: a signature field with several widget kids is legal but
    # poppler (and other viewers) then report each widget as an unsigned signature field.
    pi, r, _rot = places[0]
    up.add(field_num, b"<< /Type /Annot /Subtype /Widget /FT /Sig /T " + pdf_string(field_name)
           + b" /V %d 0 R /F 132 /P %d %d R /Rect " % ((sig_num,) + page_objs[pi].objgen)
           + _rect(r) + ap_ref(0) + b" >>")
    widget_nums.append((pi, field_num))
    for k, (pi, r, _rot) in enumerate(places[1:], start=1):
        sn = up.alloc()
        up.add(sn, b"<< /Type /Annot /Subtype /Stamp /Name /Seal /F 132 /P %d %d R /Rect "
               % page_objs[pi].objgen + _rect(r) + ap_ref(k)
               + b" /Contents " + pdf_string(field_name) + b" >>")
        widget_nums.append((pi, sn))

    # --- pages: /Annots
    for pi, page in page_objs.items():
        refs = [wn for p, wn in widget_nums if p == pi]
        annots = page.get("/Annots")
        if isinstance(annots, pikepdf.Array) and annots.is_indirect:
            num, gen = annots.objgen
            up.add(num, _array_plus(annots, refs), gen)
        else:
            new_annots = _array_plus(annots, refs)
            num, gen = page.objgen
            up.add(num, _dict_without(page, "/Annots") + b"/Annots " + new_annots + b" >>", gen)

    _update_acroform_and_catalog(st, up, spec, sig_num, field_num)
    return up, sig_num, capacity, field_name


def _fill_existing_field(st: PdfStructure, up: IncrementalUpdate, field: pikepdf.Dictionary,
                         sig_num: int, app: AppearanceSpec) -> None:
    """Sign a pre-existing empty signature field (e.g. from a contract template): /V on the
    field; with an image, a new /AP for each of its widgets, sized to the widget's /Rect."""
    kids = field.get("/Kids")
    widgets = list(kids) if isinstance(kids, pikepdf.Array) and len(kids) else [field]
    aps: Dict[int, int] = {}
    if app.visible:
        img = ap_mod.decode_png(app.image)  # type: ignore[arg-type]
        img_num = up.alloc()
        smask_num = up.alloc() if img.alpha is not None else None
        for num, body in ap_mod.image_objects(img, img_num, smask_num):
            up.add(num, body)
        for i, w in enumerate(widgets):
            try:
                r = [float(v) for v in w.Rect]
            except (AttributeError, TypeError, ValueError):
                continue
            width, height = abs(r[2] - r[0]), abs(r[3] - r[1])
            if width <= 0 or height <= 0:
                continue
            page = w.get("/P")
            rot = PageGeometry.of(page).rotate if isinstance(page, pikepdf.Dictionary) else 0
            aps[i] = up.alloc()
            up.add(aps[i], ap_mod.form_xobject(width, height, img_num, rot))
    if not field.is_indirect:
        raise FieldExistsError("the signature field is not an indirect object")
    fnum, fgen = field.objgen
    if widgets[0] is field:  # merged field/widget
        ap = b" /AP << /N %d 0 R >>" % aps[0] if 0 in aps else b""
        drop = ("/V", "/AP") if ap else ("/V",)
        up.add(fnum, _dict_without(field, *drop) + b"/V %d 0 R" % sig_num + ap + b" >>", fgen)
        return
    up.add(fnum, _dict_without(field, "/V") + b"/V %d 0 R >>" % sig_num, fgen)
    for i, w in enumerate(widgets):
        if i in aps and w.is_indirect:
            num, gen = w.objgen
            up.add(num, _dict_without(w, "/AP") + b"/AP << /N %d 0 R >> >>" % aps[i], gen)


def _update_acroform_and_catalog(st: PdfStructure, up: IncrementalUpdate, spec: SignatureSpec,
                                 sig_num: int, field_num: Optional[int]) -> None:
    """/AcroForm (new field in /Fields, /SigFlags 3) and the catalog (/AcroForm, /Perms)."""
    add = [field_num] if field_num is not None else []
    root = st.root
    af = st.acroform()
    root_changes: List[bytes] = []
    if af is not None and af.is_indirect:
        new_fields = _array_plus(af.get("/Fields"), add)
        num, gen = af.objgen
        up.add(num, _dict_without(af, "/Fields", "/SigFlags") + b"/Fields " + new_fields
               + b" /SigFlags 3 >>", gen)
    else:
        af_num = up.alloc()
        if af is not None:  # direct dictionary inside the catalog: move it out
            new_fields = _array_plus(af.get("/Fields"), add)
            body = _dict_without(pikepdf.Dictionary(af), "/Fields", "/SigFlags")
        else:
            new_fields, body = _array_plus(None, add), b"<< "
        up.add(af_num, body + b"/Fields " + new_fields + b" /SigFlags 3 >>")
        root_changes.append(b"/AcroForm %d 0 R" % af_num)
    if spec.certify is not None:
        perms = root.get("/Perms")
        keep = b""
        if isinstance(perms, pikepdf.Dictionary):  # e.g. /UR3 of a Reader-extended file
            keep = _dict_without(pikepdf.Dictionary(perms), "/DocMDP")[2:].strip()
        root_changes.append(b"/Perms << " + (keep + b" " if keep else b"")
                            + b"/DocMDP %d 0 R >>" % sig_num)
    if root_changes:
        num, gen = root.objgen
        drop = ["/AcroForm"] if any(c.startswith(b"/AcroForm") for c in root_changes) else []
        if spec.certify is not None:
            drop.append("/Perms")
        up.add(num, _dict_without(root, *drop) + b" ".join(root_changes) + b" >>", gen)


# ------------------------------------------------------------------------------ finish
def finish(prepared: PreparedSignature, cms_der: bytes) -> None:
    """Write the CMS blob (hex) into the reserved /Contents, in place."""
    if len(cms_der) > prepared.contents_capacity:
        raise SignatureTooLargeError(
            f"CMS of {len(cms_der)} bytes does not fit in {prepared.contents_capacity} reserved"
            " (raise SignatureSpec.contents_size)")
    hexed = cms_der.hex().encode()
    if prepared.stream is not None:
        fh = prepared.stream
        _check_and_write(fh, prepared, hexed)
        fh.flush()
        if prepared.output_path is not None:  # a file handle kept open by sign_pdf
            fh.close()
            prepared.stream = None
        return
    if prepared.output_path is None:
        raise PreparedSignatureError("prepared signature has neither a path nor a stream")
    try:
        fh = open(prepared.output_path, "r+b")
    except OSError as exc:
        raise PreparedSignatureError(f"cannot open {prepared.output_path}: {exc.strerror}") from exc
    with fh:
        _check_and_write(fh, prepared, hexed)


def _check_and_write(fh: BinaryIO, prepared: PreparedSignature, hexed: bytes) -> None:
    br = prepared.byte_range
    fh.seek(0, io.SEEK_END)
    if fh.tell() < br[2] + br[3]:
        raise PreparedSignatureError("the prepared file is shorter than its byte range")
    fh.seek(br[1])
    if fh.read(1) != b"<":
        raise PreparedSignatureError("the prepared file changed: no /Contents placeholder")
    fh.seek(prepared.contents_offset)
    fh.write(hexed)


def sign_prepared(prepared: PreparedSignature, signer: Signer,
                  timestamper=None) -> bytes:
    """The ``sign`` step: CMS over the prepared digest."""
    if signer.algorithm != prepared.algorithm:
        raise BadSpecError("prepared for a different algorithm than the signer's")
    return cms_mod.sign_digest(signer, prepared.digest, timestamper=timestamper,
                               signing_time=prepared.signing_time)


def abort(prepared: PreparedSignature) -> None:
    """Undo a prepared signature: cut an in-place update off, or remove the output file."""
    if prepared.stream is not None:
        prepared.stream.truncate(prepared.base_length if prepared.in_place else 0)
        if prepared.output_path is not None:
            prepared.stream.close()
            prepared.stream = None
    if prepared.output_path is not None:
        if prepared.in_place:
            with open(prepared.output_path, "r+b") as fh:
                fh.truncate(prepared.base_length)
        else:
            try:
                os.remove(prepared.output_path)
            except FileNotFoundError:
                pass


def sign_pdf(source: Source, target: Target, signer: Signer,
             spec: SignatureSpec = SignatureSpec()) -> SignResult:
    """prepare → digest → sign → embed in one call (the output is rolled back on failure)."""
    prepared = prepare(source, target, signer, spec, keep_open=True)
    try:
        der = sign_prepared(prepared, signer, spec.timestamper)
        finish(prepared, der)
    except BaseException:
        abort(prepared)
        raise
    return SignResult(prepared.output_path, prepared.field_name, prepared.algorithm,
                      prepared.byte_range, prepared.digest, len(der))


def sign_pdf_dual(source: Source, target: Target, sm2_signer: Signer, rsa_signer: Signer,
                  sm2_spec: SignatureSpec = SignatureSpec(),
                  rsa_spec: SignatureSpec = SignatureSpec()) -> List[SignResult]:
    """双签名: the SM2 signature, then the RSA one, as two fields / two incremental updates."""
    if sm2_signer.algorithm != "sm2" or rsa_signer.algorithm != "rsa":
        raise BadSpecError("dual signing needs an SM2 signer then an RSA signer")
    first = sign_pdf(source, target, sm2_signer, sm2_spec)
    second = sign_pdf(target, target, rsa_signer, rsa_spec)
    return [first, second]
