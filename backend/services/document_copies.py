"""Derived copies of a document: desensitised download [文件脱敏下载] and anti-counterfeit print
[防伪打印]; downloads of the archived content. Derived copies are made from the current content
on demand, never replace it (the archived original and its signatures stay untouched), and
each hand-out is an evidence event."""
from __future__ import annotations

import hashlib

from backend.models.document import Document, DocumentRevision
from backend.models.tenant import Tenant
from backend.services import evidence, file_store
from backend.services.documents_query import Caller, get_document


async def download(tenant: Tenant, runtime, caller: Caller, document_id: str, which: str, *,
                   revision: int | None = None, ip: str = "", device: str = "") -> tuple[Document, bytes]:
    """``which``: original | current (or a revision number)."""
    doc = await get_document(tenant, caller, document_id)
    if revision is not None:
        rev = await DocumentRevision.get_or_none(document_id=doc.id, number=revision)
        if rev is None:
            from backend.errors import NotFound
            raise NotFound("no such revision", code="REVISION_NOT_FOUND")
        sha = rev.sha256
    else:
        sha = doc.original_sha256 if which == "original" else doc.current_sha256
    data = await file_store.get(runtime, sha)
    await evidence.append(doc.id, "download", actor=caller.actor, ip=ip, device=device,
                          payload={"variant": which if revision is None else f"revision {revision}",
                                   "sha256": sha})
    return doc, data


async def desensitised(tenant: Tenant, runtime, caller: Caller, document_id: str, *,
                       ip: str = "", device: str = "") -> tuple[Document, bytes]:
    from documents.desensitise import desensitise

    doc = await get_document(tenant, caller, document_id)
    source = await file_store.get(runtime, doc.current_sha256)
    copy = await file_store.run(desensitise, source)
    await evidence.append(doc.id, "download", actor=caller.actor, ip=ip, device=device,
                          payload={"variant": "desensitised", "source_sha256": doc.current_sha256,
                                   "sha256": hashlib.sha256(copy.pdf).hexdigest(),
                                   "seals_masked": len(copy.seals)})
    return doc, copy.pdf


async def print_copy(tenant: Tenant, runtime, caller: Caller, document_id: str, *,
                     ip: str = "", device: str = "") -> tuple[Document, bytes]:
    from documents.print_copy import make_print_copy

    from backend.services.generate_document import code_key

    doc = await get_document(tenant, caller, document_id)
    source = await file_store.get(runtime, doc.current_sha256)
    copy = await file_store.run(make_print_copy, source, base_url=runtime.settings.base_url,
                                key=code_key(runtime), code=doc.short_code)
    await evidence.append(doc.id, "print_copy", actor=caller.actor, ip=ip, device=device,
                          payload={"source_sha256": doc.current_sha256, "url": copy.url,
                                   "sha256": hashlib.sha256(copy.pdf).hexdigest()})
    return doc, copy.pdf
