"""The public verification page behind a print copy's QR code (``/v/<short_code>``): the
document's hashes, masked signers, its signatures as verified now, and its live status (a
voided or superseded document says so). No login, no personal data (names masked)."""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import Any

from backend.errors import NotFound
from backend.models.document import Document
from backend.services import file_store
from backend.services.generate_document import mask_name

STATUS_TEXT = {"draft": "草稿（尚未签署）", "signing": "签署中", "signed": "已签署，有效",
               "voided": "已作废", "superseded": "已被新版本替代"}
_CODE = re.compile(r"^[A-Z2-7]{6,16}$")
_reports: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
_lock = threading.Lock()


class VerificationCodeUnknown(NotFound):
    code, message = "VERIFICATION_CODE_UNKNOWN", "no document has this verification code"


def _masked_subject(subject: str) -> str:
    parts = dict(p.split(": ", 1) for p in subject.split(", ") if ": " in p)
    cn, org = parts.get("Common Name", ""), parts.get("Organization", "")
    name = mask_name(cn)
    return f"{name}（{org}）" if org and org != cn else name


def _signatures(pdf: bytes, trust: list) -> list[dict[str, Any]]:
    from sign.verify import verify

    report = verify(pdf, trust=trust)
    return [{"field": s.field_name, "algorithm": s.algorithm, "kind": s.kind,
             "signer": _masked_subject(s.signer.subject) if s.signer else "",
             "signing_time": s.signing_time.isoformat() if s.signing_time else None,
             "intact": s.intact, "valid": s.valid,
             "modified_after_signing": s.modified_after_signing} for s in report.signatures]


async def _public_title(doc: Document) -> str:
    """The template's title, never the document's own title (it may carry a person's name)."""
    from backend.models.template import Template, TemplateVersion

    if doc.template_version_id:
        version = await TemplateVersion.get_or_none(id=doc.template_version_id)
        template = await Template.get_or_none(id=version.template_id) if version else None
        if template is not None:
            return template.title
    return doc.doc_type or "电子文件"


async def lookup(runtime, code: str) -> dict[str, Any]:
    code = (code or "").strip().upper()
    doc = await Document.get_or_none(short_code=code) if _CODE.match(code) else None
    if doc is None:
        raise VerificationCodeUnknown()
    with _lock:
        signatures = _reports.get(doc.current_sha256)
    if signatures is None:
        pdf = await file_store.get(runtime, doc.current_sha256)
        signatures = await file_store.run(_signatures, pdf, runtime.pki().roots())
        with _lock:
            _reports[doc.current_sha256] = signatures
            while len(_reports) > 256:
                _reports.popitem(last=False)
    return {"code": doc.short_code, "title": await _public_title(doc), "doc_type": doc.doc_type,
            "status": doc.status, "status_text": STATUS_TEXT.get(doc.status, doc.status),
            "valid": doc.status in ("signed", "signing", "draft"),
            "voided_at": doc.voided_at.isoformat() if doc.voided_at else None,
            "sha256": doc.current_sha256, "sm3": doc.current_sm3, "size": doc.current_size,
            "signers": [{"role": s.get("role", ""), "name": s.get("name_masked", "")}
                        for s in doc.signers],
            "signatures": signatures, "created_at": doc.created_at.isoformat(),
            "updated_at": doc.updated_at.isoformat()}
