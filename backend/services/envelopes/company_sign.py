"""Silent company signing [静默签署]: a company signer of an open stage seals with its chosen
seal under the grant of its ``user_ref`` — checked, logged and risk-scored at the moment of use
(``seal_document``), then committed like every other signature."""
from __future__ import annotations

from backend.models.envelope import Envelope, EnvelopeSigner
from backend.models.tenant import Tenant
from backend.services.envelopes.errors import SignerAlreadyDone
from backend.services.envelopes.sign_step import (SignerBusy, check_open, commit_signature,
                                                  current_pdf, placement_for, signing_turn)
from backend.services.seals.seal_document import record_applied, seal_document
from backend.services.seals.use import UseRequest


async def seal_for_signer(tenant: Tenant, runtime, envelope: Envelope,
                          signer: EnvelopeSigner) -> bool:
    """Seal for one ready company signer; False when another process holds its turn."""
    check_open(envelope)
    try:
        async with signing_turn(runtime, envelope, signer):
            await _seal(tenant, runtime, envelope, signer)
    except (SignerBusy, SignerAlreadyDone):  # another process sealed or is sealing
        return False
    return True


async def _seal(tenant: Tenant, runtime, envelope: Envelope, signer: EnvelopeSigner) -> None:
    doc, pdf = await current_pdf(runtime, envelope)
    placement = await placement_for(doc, pdf, signer.position, signer.role)
    use = UseRequest(user_ref=signer.user_ref, document_ref=str(doc.id),
                     document_type=doc.doc_type, flow=envelope.business_line,
                     unit_ref=envelope.unit_ref, device="envelope-silent-signing")
    sealed = await seal_document(tenant, runtime, seal_id=signer.seal_id,
                                 company_name=signer.company_name, pdf=pdf,
                                 placement=placement, use=use, record=False)

    async def record() -> None:
        await record_applied(tenant, runtime, sealed)

    await commit_signature(
        tenant, runtime, envelope, signer, doc, sealed.pdf, kind="sealed",
        actor=f"seal:{signer.seal_id}", meter=record,
        events=[("seal_use", {"seal_id": signer.seal_id, "use_id": sealed.use_id,
                              "role": signer.role, "envelope_id": str(envelope.id)}),
                ("signature", {"company": signer.company_name, "role": signer.role,
                               "algorithms": list(sealed.algorithms), "silent": True})])
