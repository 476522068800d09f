"""Apply a company seal to a PDF [盖章]: the grant is checked and the use logged first
(``use_seal``), then the company's bound certificate(s) sign with the seal picture as the
visible appearance — SM2, RSA, or both (SM2 first) for a dual binding.

Signing is CPU work; it runs in a worker thread so the event loop keeps serving.
"""
from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import io
from typing import Any

from tortoise.transactions import in_transaction

from backend import audit
from backend.errors import ValidationFailed
from backend.models.tenant import Tenant
from backend.services import callbacks_outbox as outbox
from backend.services import metering
from backend.services.seals import certificates
from backend.services.seals.use import UseRequest, use_seal
from sign.certs.pem import load_certificates
from sign.keystore_signer import KeyStoreSigner
from sign.pdf import PdfSignError, sign_pdf
from sign.pdf.pipeline import sign_pdf_dual
from sign.specs import AppearanceSpec, SignatureSpec


class SealPlacementInvalid(ValidationFailed):
    code = "SEAL_PLACEMENT_INVALID"


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where the seal goes: page + rect (points from bottom-left), or a keyword."""
    page: int = 1
    rect: tuple[float, float, float, float] | None = None
    keyword: str | None = None
    size: float = 120.0


@dataclasses.dataclass(frozen=True)
class SealedDocument:
    pdf: bytes
    sha256: str
    algorithms: tuple[str, ...]
    use_id: int
    seal: Any = None
    company_name: str = ""
    use: UseRequest | None = None


@functools.lru_cache(maxsize=256)
def _signer(pki, key_id: str, cert_pem: str, chain_pem: str) -> KeyStoreSigner:
    """One signer per bound certificate: certificates parsed once, the signer's pre-encoded CMS
    parts reused across seal applications (the key itself stays in the key store)."""
    chain = load_certificates(chain_pem.encode()) if chain_pem else []
    return KeyStoreSigner(pki.keystore, key_id, load_certificates(cert_pem.encode())[0], chain)


def _spec(seal, placement: Placement, image: bytes | None, reason: str) -> SignatureSpec:
    appearance = AppearanceSpec(image=image, page=placement.page, rect=placement.rect,
                                keyword=placement.keyword,
                                size=(placement.size, placement.size)) if image else AppearanceSpec()
    return SignatureSpec(reason=reason, name=seal.name, appearance=appearance)


def _sign(pdf: bytes, binding, pki, seal, placement: Placement, reason: str) -> bytes:
    out = io.BytesIO()
    if binding.algorithm == "dual":
        sm2 = _signer(pki, binding.sm2_key_id, binding.sm2_cert_pem, binding.chain_pem)
        rsa = _signer(pki, binding.rsa_key_id, binding.rsa_cert_pem, binding.chain_pem)
        sign_pdf_dual(pdf, out, sm2, rsa, _spec(seal, placement, seal.image_png, reason),
                      SignatureSpec(reason=reason, name=seal.name))
    else:
        sm2 = binding.algorithm == "sm2"
        signer = _signer(pki, binding.sm2_key_id if sm2 else binding.rsa_key_id,
                         binding.sm2_cert_pem if sm2 else binding.rsa_cert_pem, binding.chain_pem)
        sign_pdf(pdf, out, signer, _spec(seal, placement, seal.image_png, reason))
    return out.getvalue()


async def seal_document(tenant: Tenant, runtime, *, seal_id: str, company_name: str, pdf: bytes,
                        placement: Placement, use: UseRequest,
                        record: bool = True) -> SealedDocument:
    """``record=False``: the caller stores the signed file and calls ``record_applied`` in that
    same transaction, so that a crash in between neither announces nor bills a signature that
    was never stored (the seal use itself is logged either way)."""
    binding = await certificates.binding_for(tenant, company_name)
    await metering.check_quota(tenant, *metering.signature_kinds(binding.algorithm))
    seal, use_row = await use_seal(tenant, seal_id, use, runtime=runtime,
                                   risk_settings=runtime.settings.risk_settings())
    reason = f"{seal.name} 电子签章"
    try:
        signed = await asyncio.to_thread(_sign, pdf, binding, runtime.pki(), seal, placement,
                                         reason)
    except PdfSignError as exc:
        raise SealPlacementInvalid(str(exc), code=f"PDF_{exc.code.upper()}") from None
    digest = hashlib.sha256(signed).hexdigest()
    algorithms = ("sm2", "rsa") if binding.algorithm == "dual" else (binding.algorithm,)
    sealed = SealedDocument(signed, digest, algorithms, use_row.id, seal, company_name, use)
    if record:
        async with in_transaction("default"):
            await record_applied(tenant, runtime, sealed)
    return sealed


async def record_applied(tenant: Tenant, runtime, sealed: SealedDocument) -> None:
    """The operation-log entry, the ``seal.used`` callback, the metering and (front server)
    the report of a stored seal application, in the caller's transaction."""
    use, seal = sealed.use, sealed.seal
    algorithm = "dual" if len(sealed.algorithms) == 2 else sealed.algorithms[0]
    await audit.record("seal.applied", f"seal:{seal.id}", actor=f"user:{use.user_ref}",
                       details={"document": use.document_ref, "sha256": sealed.sha256,
                                "algorithm": algorithm, "use": sealed.use_id})
    await outbox.emit(tenant, runtime, "seal.used",
                      {"seal_id": str(seal.id), "document_ref": use.document_ref,
                       "sha256": sealed.sha256, "algorithms": list(sealed.algorithms)})
    await metering.meter_signatures(tenant.id, [sealed.use_id], sealed.algorithms, use)
    if runtime.settings.front_server_mode:  # tell the central platform (hash, no content)
        from backend.services import front_reports
        await front_reports.queue_report(tenant, runtime, seal=seal,
                                         company_name=sealed.company_name,
                                         sha256=sealed.sha256, algorithms=sealed.algorithms,
                                         use_id=sealed.use_id, use=use)
