"""Issue an envelope [发起签署]: make its document (template + parameters, or an uploaded PDF),
register its signers, meter it, announce it; idempotent on (tenant, doc_type, business_no).

Two concurrent calls with the same business number: both fill, one insert wins on the unique
index, the other's transaction (document included) rolls back and it returns the winner.
"""
from __future__ import annotations

import dataclasses

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend import audit
from backend.models.envelope import Envelope, EnvelopeSigner
from backend.models.tenant import Tenant
from backend.services import callbacks_outbox as outbox
from backend.services import evidence, generate_document, metering
from backend.services.documents_query import Caller
from backend.services.envelopes.spec import EnvelopeSpec, SignerSpec
from backend.services.envelopes.state import event_data
from backend.services.generate_document import mask_name
from backend.services.persons import upsert_person


@dataclasses.dataclass(frozen=True)
class Issued:
    envelope: Envelope
    created: bool


async def existing(tenant: Tenant, spec: EnvelopeSpec) -> Envelope | None:
    if not spec.business_no:
        return None
    return await Envelope.get_or_none(tenant_id=tenant.id, doc_type=spec.doc_type,
                                      business_no=spec.business_no)


async def create_envelope(tenant: Tenant, runtime, spec: EnvelopeSpec, *, caller: Caller,
                          batch_id=None, ip: str = "", device: str = "") -> Issued:
    spec.check()
    if spec.template and not spec.doc_type:  # the business number is unique per document type
        from backend.services import templates_catalog
        template = await templates_catalog.get_template(tenant, spec.template)
        spec = dataclasses.replace(spec, doc_type=template.doc_type)
    found = await existing(tenant, spec)
    if found is not None:
        return Issued(found, False)
    await metering.check_quota(tenant, "envelope.created")
    try:
        async with in_transaction("default"):
            envelope = await _create(tenant, runtime, spec, caller, batch_id, ip, device)
    except IntegrityError:
        found = await existing(tenant, spec)
        if found is None:
            raise
        return Issued(found, False)
    return Issued(envelope, True)


async def _document(tenant: Tenant, runtime, spec: EnvelopeSpec, caller: Caller, ip: str,
                    device: str):
    signers = [{"role": s.role, "ref": s.ref, "name": s.name or s.company_name,
                **({"mobile": s.mobile} if s.mobile else {})} for s in spec.signers]
    common = dict(caller=caller, business_no=spec.business_no, policy_no=spec.policy_no,
                  unit_ref=spec.unit_ref, signers=signers, ip=ip, device=device)
    if spec.template:
        return await generate_document.generate(tenant, runtime, spec.template, spec.params,
                                                title=spec.title, **common)
    return await generate_document.upload(tenant, runtime, spec.pdf, title=spec.title,
                                          doc_type=spec.doc_type, **common)


async def _create(tenant: Tenant, runtime, spec: EnvelopeSpec, caller: Caller, batch_id,
                  ip: str, device: str) -> Envelope:
    document = await _document(tenant, runtime, spec, caller, ip, device)
    envelope = await Envelope.create(
        tenant=tenant, doc_type=spec.doc_type or document.doc_type,
        business_no=spec.business_no or None, title=spec.title or document.title,
        document=document, unit_ref=document.unit_ref, business_line=spec.business_line,
        batch_id=batch_id, clauses=list(spec.clauses), changes=list(spec.changes),
        deadline_at=spec.deadline_at, valid_until=spec.valid_until, created_by=caller.actor)
    for signer in spec.signers:
        await _add_signer(tenant, runtime, envelope, signer)
    await evidence.append(document.id, "envelope_state", actor=caller.actor, ip=ip,
                          device=device,
                          payload={"envelope_id": str(envelope.id), "to": "draft",
                                   "signers": [{"stage": s.stage, "kind": s.kind, "role": s.role}
                                               for s in spec.signers],
                                   "clauses": [c["id"] for c in spec.clauses]})
    await audit.record("envelope.create", f"envelope:{envelope.id}", actor=caller.actor,
                       tenant_id=str(tenant.id),
                       details={"doc_type": envelope.doc_type, "unit_id": envelope.unit_ref,
                                "business_no": spec.business_no})
    await metering.meter("envelope.created", tenant_id=tenant.id, key=f"envelope:{envelope.id}",
                         unit_ref=envelope.unit_ref, business_line=spec.business_line)
    await outbox.emit(tenant, runtime, "envelope.created", event_data(envelope))
    return envelope


async def _add_signer(tenant: Tenant, runtime, envelope: Envelope, spec: SignerSpec) -> None:
    person = None
    if spec.kind == "person":
        person = await upsert_person(tenant, spec.name, spec.id_number, spec.mobile or None,
                                     runtime.cipher)
    name = spec.company_name if spec.kind == "company" else spec.name
    await EnvelopeSigner.create(
        envelope=envelope, stage=spec.stage, kind=spec.kind, role=spec.role, ref=spec.ref,
        name_masked=mask_name(name), person=person, company_name=spec.company_name,
        seal_id=spec.seal_id, user_ref=spec.user_ref, identity_methods=list(spec.identity),
        intent_method=spec.intent if spec.kind == "person" else "none",
        position=spec.position or ({"role": spec.role}), materials_required=list(spec.materials))
