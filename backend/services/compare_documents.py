"""Document comparison [文档对比]: text-level diff of two documents, or two revisions of one
(or of two template versions' base PDFs), as JSON and as a highlighted PDF of the newer one."""
from __future__ import annotations

from typing import Any

from backend.errors import NotFound
from backend.models.document import DocumentRevision
from backend.models.tenant import Tenant
from backend.services import file_store, templates_catalog
from backend.services.documents_query import Caller, get_document


async def _content(tenant: Tenant, runtime, caller: Caller, document_id: str,
                   revision: int | None) -> tuple[bytes, dict[str, Any]]:
    doc = await get_document(tenant, caller, document_id)
    sha = doc.current_sha256
    if revision is not None:
        rev = await DocumentRevision.get_or_none(document_id=doc.id, number=revision)
        if rev is None:
            raise NotFound("no such revision", code="REVISION_NOT_FOUND")
        sha = rev.sha256
    return await file_store.get(runtime, sha), {"document": str(doc.id), "revision": revision,
                                                "sha256": sha}


async def compare_documents(tenant: Tenant, runtime, caller: Caller, *, old: str, new: str | None,
                            old_revision: int | None = None, new_revision: int | None = None,
                            highlight: bool = False) -> tuple[dict[str, Any], bytes | None]:
    from documents.compare import compare

    a, a_ref = await _content(tenant, runtime, caller, old, old_revision)
    b, b_ref = await _content(tenant, runtime, caller, new or old, new_revision)
    result = await file_store.run(compare, a, b, highlight=highlight)
    return {"old": a_ref, "new": b_ref, "changes": result.to_json(),
            "count": len(result.changes)}, result.highlighted_pdf


async def compare_template_versions(tenant: Tenant, runtime, template_ref: str, old: int,
                                    new: int, highlight: bool = False):
    from documents.compare import compare

    template = await templates_catalog.get_template(tenant, template_ref)
    va = await templates_catalog.get_version(template, old)
    vb = await templates_catalog.get_version(template, new)
    a = await file_store.get(runtime, va.pdf_sha256)
    b = await file_store.get(runtime, vb.pdf_sha256)
    result = await file_store.run(compare, a, b, highlight=highlight)
    return {"old": {"version": old, "sha256": va.pdf_sha256},
            "new": {"version": new, "sha256": vb.pdf_sha256},
            "changes": result.to_json(), "count": len(result.changes)}, result.highlighted_pdf
