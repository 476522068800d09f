"""The template catalogue [模版中心]: create (uploaded PDF + definition, HTML/text form, shipped
example), new versions with an edit trail [编辑留痕], publish/disable, sharing across units.

A version is immutable: the base PDF is a blob in the file store (by SHA-256), the definition
is stored as JSON. Every change writes a ``TemplateEdit`` (who, what, a diff) and an operation-log
entry in the same transaction.
"""
from __future__ import annotations

import json
import pathlib
from typing import Any

from tortoise.transactions import in_transaction

from backend import audit
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.ids import parse_uuid
from backend.models.template import Template, TemplateEdit, TemplateVersion
from backend.models.tenant import Tenant
from backend.services import file_store
from documents.template import TemplateDef, check_sign_keywords

EXAMPLES_DIR = pathlib.Path(__file__).resolve().parent.parent.parent / "templates"
TRANSITIONS = {"publish": ({"draft", "disabled"}, "published"),
               "disable": ({"draft", "published"}, "disabled")}


class TemplateNotFound(NotFound):
    code, message = "TEMPLATE_NOT_FOUND", "no such template"


class TemplateCodeTaken(Conflict):
    code, message = "TEMPLATE_CODE_TAKEN", "a template with this code exists"


class TemplateTransitionInvalid(Conflict):
    code = "TEMPLATE_TRANSITION_INVALID"


class TemplateSourceInvalid(ValidationFailed):
    code = "TEMPLATE_SOURCE_INVALID"


def present_template(t: Template) -> dict[str, Any]:
    return {"id": str(t.id), "code": t.code, "title": t.title, "description": t.description,
            "doc_type": t.doc_type, "status": t.status, "shared": t.shared, "unit": t.unit_ref,
            "current_version": t.current_version, "created_by": t.created_by,
            "created_at": t.created_at.isoformat(), "updated_at": t.updated_at.isoformat()}


def present_version(v: TemplateVersion) -> dict[str, Any]:
    return {"number": v.number, "pdf": {"sha256": v.pdf_sha256, "sm3": v.pdf_sm3,
                                        "size": v.pdf_size},
            "definition": v.definition, "source": v.source, "created_by": v.created_by,
            "created_at": v.created_at.isoformat()}


def present_edit(e: TemplateEdit) -> dict[str, Any]:
    return {"version": e.version, "actor": e.actor, "action": e.action, "summary": e.summary,
            "diff": e.diff, "at": e.created_at.isoformat()}


# ------------------------------------------------------------------ checking a source
def _check_source(code: str, title: str, pdf: bytes | None, definition: dict | None,
                  html: str | None, version: int) -> tuple[bytes, TemplateDef]:
    """Blocking: build or check the PDF + definition (raises documents errors)."""
    from documents.build import build_from_html
    from documents.fill import filler_for

    if html is not None:
        built = build_from_html(html, code=code, title=title, version=version)
        pdf, tpl = built.pdf, built.template
    else:
        data = dict(definition or {})
        data.update(code=code, title=data.get("title") or title, version=version)
        tpl = TemplateDef.from_dict(data)
    filler_for(pdf, tpl)            # PDF readable, fields fit the pages
    check_sign_keywords(pdf, tpl)   # keyword signing positions findable
    return pdf, tpl


async def _checked(code: str, title: str, pdf: bytes | None, definition: dict | None,
                   html: str | None, version: int) -> tuple[bytes, TemplateDef]:
    if (html is None) == (pdf is None):
        raise TemplateSourceInvalid("give either pdf_base64 (+ definition) or html")
    if pdf is not None and definition is None:
        raise TemplateSourceInvalid("an uploaded PDF needs its definition (fields, sign positions)")
    return await file_store.run(_check_source, code, title, pdf, definition, html, version)


def definition_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Fields and signing positions added, removed or changed between two definitions."""
    def by(items: list[dict], key: str) -> dict[str, dict]:
        return {str(i.get(key)): i for i in items}

    diff: dict[str, Any] = {}
    for part, key in (("fields", "name"), ("sign_positions", "role")):
        a, b = by(old.get(part, []), key), by(new.get(part, []), key)
        changes = {"added": sorted(set(b) - set(a)), "removed": sorted(set(a) - set(b)),
                   "changed": sorted(k for k in set(a) & set(b) if a[k] != b[k])}
        if any(changes.values()):
            diff[part] = changes
    for key in ("title", "description"):
        if old.get(key) != new.get(key):
            diff[key] = {"old": old.get(key), "new": new.get(key)}
    return diff


# ------------------------------------------------------------------ use cases
async def create_template(tenant: Tenant, runtime, *, code: str, title: str, actor: str,
                          pdf: bytes | None = None, definition: dict | None = None,
                          html: str | None = None, doc_type: str = "", description: str = "",
                          shared: bool = True, unit_ref: str = "hq", source: str = "",
                          publish: bool = False) -> Template:
    if await Template.exists(tenant_id=tenant.id, code=code):
        raise TemplateCodeTaken()
    pdf, tpl = await _checked(code, title, pdf, definition, html, 1)
    ref = await file_store.put(runtime, pdf)
    source = source or ("html" if html is not None else "upload")
    async with in_transaction("default"):
        template = await Template.create(
            tenant_id=tenant.id, code=code, title=title, description=description or tpl.description,
            doc_type=doc_type or code, status="published" if publish else "draft",
            shared=shared, unit_ref=unit_ref, current_version=1, created_by=actor)
        await TemplateVersion.create(template=template, number=1, pdf_sha256=ref.sha256,
                                     pdf_sm3=ref.sm3, pdf_size=ref.size,
                                     definition=tpl.to_dict(), source=source, created_by=actor)
        await TemplateEdit.create(template=template, version=1, actor=actor, action="create",
                                  summary=f"created from {source}",
                                  diff={"fields": [f.name for f in tpl.fields],
                                        "sign_positions": [s.role for s in tpl.sign_positions]})
        if publish:
            await TemplateEdit.create(template=template, version=1, actor=actor, action="publish",
                                      summary="published", diff={})
        await audit.record("template.create", f"template:{template.id}", actor=actor,
                           details={"code": code, "version": 1, "source": source,
                                    "sha256": ref.sha256, "unit_id": unit_ref})
    return template


async def get_template(tenant: Tenant, template_ref: str) -> Template:
    """By id, or by code."""
    try:
        template_id = parse_uuid(template_ref, TemplateNotFound)
        template = await Template.get_or_none(id=template_id, tenant_id=tenant.id)
    except TemplateNotFound:
        template = await Template.get_or_none(code=template_ref, tenant_id=tenant.id)
    if template is None:
        raise TemplateNotFound()
    return template


async def get_version(template: Template, number: int | None = None) -> TemplateVersion:
    version = await TemplateVersion.get_or_none(template_id=template.id,
                                                number=number or template.current_version)
    if version is None:
        raise TemplateNotFound("no such template version", code="TEMPLATE_VERSION_NOT_FOUND")
    return version


async def new_version(tenant: Tenant, runtime, template_ref: str, *, actor: str, summary: str,
                      pdf: bytes | None = None, definition: dict | None = None,
                      html: str | None = None, title: str | None = None) -> TemplateVersion:
    """A change of PDF and/or definition: always a new version; the old ones stay."""
    template = await get_template(tenant, template_ref)
    current = await get_version(template)
    if pdf is None and html is None:
        pdf = await file_store.get(runtime, current.pdf_sha256)  # definition-only change
    if definition is None and html is None:
        definition = dict(current.definition)
    title = title or template.title
    number = template.current_version + 1
    pdf, tpl = await _checked(template.code, title, pdf, definition, html, number)
    ref = await file_store.put(runtime, pdf)
    new_def = tpl.to_dict()
    diff = definition_diff(current.definition, new_def)
    if ref.sha256 != current.pdf_sha256:
        diff["pdf"] = {"old": current.pdf_sha256, "new": ref.sha256}
    async with in_transaction("default") as conn:
        locked = await Template.filter(id=template.id).select_for_update().using_db(conn).first()
        if locked.current_version != template.current_version:
            raise Conflict("the template changed meanwhile; retry", code="TEMPLATE_CHANGED")
        version = await TemplateVersion.create(
            template_id=template.id, number=number, pdf_sha256=ref.sha256, pdf_sm3=ref.sm3,
            pdf_size=ref.size, definition=new_def, source="html" if html is not None else "upload",
            created_by=actor, using_db=conn)
        await Template.filter(id=template.id).using_db(conn).update(
            current_version=number, title=title)
        await TemplateEdit.create(template_id=template.id, version=number, actor=actor,
                                  action="new_version", summary=summary[:500], diff=diff,
                                  using_db=conn)
        await audit.record("template.version", f"template:{template.id}", actor=actor,
                           details={"code": template.code, "version": number,
                                    "sha256": ref.sha256, "summary": summary[:200]})
    return version


async def transition(tenant: Tenant, template_ref: str, action: str, *, actor: str,
                     reason: str = "") -> Template:
    template = await get_template(tenant, template_ref)
    allowed, target = TRANSITIONS[action]
    async with in_transaction("default") as conn:
        locked = await Template.filter(id=template.id).select_for_update().using_db(conn).first()
        if locked.status not in allowed:
            raise TemplateTransitionInvalid(f"cannot {action} a {locked.status} template")
        await Template.filter(id=template.id).using_db(conn).update(status=target)
        await TemplateEdit.create(template_id=template.id, version=locked.current_version,
                                  actor=actor, action=action, summary=reason[:500],
                                  diff={"status": {"old": locked.status, "new": target}},
                                  using_db=conn)
        await audit.record(f"template.{action}", f"template:{template.id}", actor=actor,
                           details={"code": template.code, "reason": reason[:200]})
    return await Template.get(id=template.id)


async def set_sharing(tenant: Tenant, template_ref: str, *, shared: bool, actor: str) -> Template:
    template = await get_template(tenant, template_ref)
    if template.shared == shared:
        return template
    async with in_transaction("default") as conn:
        await Template.filter(id=template.id).using_db(conn).update(shared=shared)
        await TemplateEdit.create(template_id=template.id, version=template.current_version,
                                  actor=actor, action="share" if shared else "unshare",
                                  summary="shared with all units" if shared
                                  else f"only unit {template.unit_ref}",
                                  diff={"shared": {"old": template.shared, "new": shared}},
                                  using_db=conn)
        await audit.record("template.share", f"template:{template.id}", actor=actor,
                           details={"shared": shared})
    return await Template.get(id=template.id)


def example_codes() -> list[str]:
    return sorted(p.name[:-len(".json")] for p in EXAMPLES_DIR.glob("*.json")
                  if not p.name.endswith(".sample.json"))


def example_sample(code: str) -> dict[str, Any]:
    return json.loads((EXAMPLES_DIR / f"{code}.sample.json").read_text())


async def import_examples(tenant: Tenant, runtime, *, actor: str,
                          codes: list[str] | None = None) -> list[dict[str, Any]]:
    """Import the shipped example templates (published, shared); existing codes are kept."""
    out = []
    for code in codes or example_codes():
        if not (EXAMPLES_DIR / f"{code}.pdf").is_file():
            raise TemplateNotFound(f"no shipped example {code!r}")
        existing = await Template.get_or_none(tenant_id=tenant.id, code=code)
        if existing is not None:
            out.append({**present_template(existing), "imported": False})
            continue
        definition = json.loads((EXAMPLES_DIR / f"{code}.json").read_text())
        template = await create_template(
            tenant, runtime, code=code, title=definition["title"], actor=actor,
            pdf=(EXAMPLES_DIR / f"{code}.pdf").read_bytes(), definition=definition,
            doc_type=code, source="example", publish=True)
        out.append({**present_template(template), "imported": True})
    return out
