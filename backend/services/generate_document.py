"""Make a document [一键套用, 在线生成保单]: fill a published template version with parameters
→ a new PDF in the file store + a ``Document`` (keeping its template version) + the first
evidence event; or take an uploaded PDF into the file centre.

Missing or invalid parameters: one 422 ``FILL_PARAMS_INVALID`` listing every field.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

from tortoise.transactions import in_transaction

from backend import audit
from backend.errors import Conflict, NotFound
from backend.fieldcrypt import mask
from backend.models.document import Document, DocumentAccess, DocumentRevision
from backend.models.tenant import Tenant
from backend.services import evidence, file_store, templates_catalog
from backend.services.documents_query import Caller
from documents.print_copy import short_code
from documents.template import TemplateDef


class TemplateNotPublished(Conflict):
    code, message = "TEMPLATE_NOT_PUBLISHED", "only a published template can be filled"


class TemplateNotShared(NotFound):
    code, message = "TEMPLATE_NOT_FOUND", "no such template"


def mask_name(name: str) -> str:
    """张伟 → 张*, 欧阳娜娜 → 欧***; company names (≥ 6 characters) are kept."""
    name = (name or "").strip()
    if not name or len(name) >= 6:
        return name
    return name[0] + "*" * (len(name) - 1)


def signers_json(signers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"role": s.get("role", ""), "ref": s.get("ref", ""),
             "name_masked": mask_name(s.get("name", "")),
             **({"mobile_masked": mask(s["mobile"], 3, 4)} if s.get("mobile") else {})}
            for s in signers]


def code_key(runtime) -> bytes:
    return hmac.new(runtime.settings.resolved_data_keys()[0][1], b"print-short-code",
                    hashlib.sha256).digest()


async def create_document(tenant: Tenant, runtime, *, pdf: bytes, title: str, doc_type: str,
                          business_no: str, policy_no: str, unit_ref: str,
                          signers: list[dict[str, Any]], actor: str, kind: str,
                          ip: str = "", device: str = "", template_version=None,
                          template_code: str = "", status: str = "draft",
                          retention_until: dt.date | None = None,
                          event_payload: dict[str, Any] | None = None) -> Document:
    ref = await file_store.put(runtime, pdf)
    retention = retention_until or (dt.date.today() + dt.timedelta(
        days=365 * runtime.settings.document_retention_years))
    async with in_transaction("default"):
        doc = Document(tenant_id=tenant.id, title=title, doc_type=doc_type,
                       business_no=business_no, policy_no=policy_no, unit_ref=unit_ref or "hq",
                       template_version=template_version, template_code=template_code,
                       template_version_number=template_version.number if template_version else None,
                       status=status, current_sha256=ref.sha256, current_sm3=ref.sm3,
                       current_size=ref.size, original_sha256=ref.sha256, original_sm3=ref.sm3,
                       original_size=ref.size, signers=signers_json(signers),
                       retention_until=retention, created_by=actor)
        doc.short_code = short_code(hashlib.sha256(doc.id.bytes).hexdigest(), code_key(runtime))
        await doc.save(force_create=True)
        await DocumentRevision.create(document=doc, number=1, kind=kind, sha256=ref.sha256,
                                      sm3=ref.sm3, size=ref.size, actor=actor)
        for s in signers:
            if s.get("ref"):
                await DocumentAccess.get_or_create(document=doc, grantee_type="signer",
                                                   grantee_ref=s["ref"],
                                                   defaults={"granted_by": actor})
        await evidence.append(doc.id, "created" if kind == "generated" else "uploaded",
                              actor=actor, ip=ip, device=device,
                              payload={"sha256": ref.sha256, "sm3": ref.sm3, "size": ref.size,
                                       **(event_payload or {})})
        await audit.record("document.upload" if kind == "uploaded" else "document.generate",
                           f"document:{doc.id}", actor=actor,
                           details={"sha256": ref.sha256, "doc_type": doc_type,
                                    "unit_id": unit_ref, "template": template_code})
    return doc


async def published_version(tenant: Tenant, caller: Caller, template_ref: str):
    """The template (shared with the caller's unit, published) and its current version."""
    template = await templates_catalog.get_template(tenant, template_ref)
    if not template.shared and caller.unit_ref and caller.unit_ref != template.unit_ref:
        raise TemplateNotShared()
    if template.status != "published":
        raise TemplateNotPublished()
    return template, await templates_catalog.get_version(template)


async def generate(tenant: Tenant, runtime, template_ref: str, params: dict[str, Any], *,
                   caller: Caller, title: str = "", business_no: str = "", policy_no: str = "",
                   unit_ref: str = "", signers: list[dict[str, Any]] | None = None,
                   retention_until: dt.date | None = None, ip: str = "",
                   device: str = "") -> Document:
    from documents.fill import fill

    template, version = await published_version(tenant, caller, template_ref)
    tpl = TemplateDef.from_dict(version.definition)
    base = await file_store.get(runtime, version.pdf_sha256)
    pdf = await file_store.run(fill, base, tpl, params)
    policy_no = policy_no or str(params.get("policy_no") or "")[:64]
    return await create_document(
        tenant, runtime, pdf=pdf, title=title or template.title, doc_type=template.doc_type,
        business_no=business_no, policy_no=policy_no,
        unit_ref=unit_ref or caller.unit_ref or template.unit_ref, signers=signers or [],
        actor=caller.actor, kind="generated", ip=ip, device=device, template_version=version,
        template_code=template.code, retention_until=retention_until,
        event_payload={"template": template.code, "template_version": version.number,
                       "params_sha256": hashlib.sha256(json.dumps(
                           params, sort_keys=True, ensure_ascii=False, default=str).encode()
                       ).hexdigest()})


async def upload(tenant: Tenant, runtime, pdf: bytes, *, caller: Caller, title: str,
                 doc_type: str = "", business_no: str = "", policy_no: str = "",
                 unit_ref: str = "", signers: list[dict[str, Any]] | None = None,
                 status: str = "draft", retention_until: dt.date | None = None, ip: str = "",
                 device: str = "") -> Document:
    import pikepdf

    from documents.errors import PdfInputError

    def check() -> None:
        import io
        try:
            with pikepdf.open(io.BytesIO(pdf)):
                pass
        except pikepdf.PdfError as exc:
            raise PdfInputError(f"not a readable PDF: {exc}") from None

    await file_store.run(check)
    return await create_document(
        tenant, runtime, pdf=pdf, title=title, doc_type=doc_type, business_no=business_no,
        policy_no=policy_no, unit_ref=unit_ref or caller.unit_ref or "hq", signers=signers or [],
        actor=caller.actor, kind="uploaded", ip=ip, device=device, status=status,
        retention_until=retention_until)
