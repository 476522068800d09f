"""Make a seal [制作] from text or an uploaded picture, and change it [变更] into a new version.

The picture is rendered (or cleaned from a photo) by ``sign.seals``; the black desensitised
version and the GB/T 38540 SESeal (signed by the platform's seal-making SM2 identity) are made
at the same time. A new seal waits in ``pending`` until approved.
"""
from __future__ import annotations

import datetime as dt
import uuid

from tortoise.transactions import in_transaction

from backend import audit
from backend.errors import Conflict, ValidationFailed
from backend.models.seal import Seal, SealVersion
from backend.models.tenant import Tenant
from backend.services.seals import artwork
from backend.services.seals.lifecycle import check_reason, get_seal, now
from backend.services.seals.operators import SealOperator


class SealArtworkInvalid(ValidationFailed):
    code = "SEAL_IMAGE_INVALID"


async def make_seal(tenant: Tenant, runtime, *, kind: str, name: str, sub_text: str, code: str,
                    upload: bytes | None, unit_ref: str, valid_days: int,
                    operator: SealOperator) -> Seal:
    """Must run inside the caller's transaction (the idempotency wrapper opens one)."""
    operator.check_unit(unit_ref)
    actor = operator.actor
    seal_id = uuid.uuid4()
    valid_from = now()
    valid_until = valid_from + dt.timedelta(days=valid_days)
    art = artwork.produce(kind=kind, name=name, sub_text=sub_text, code=code, upload=upload,
                          es_id=str(seal_id), valid_from=valid_from, valid_until=valid_until,
                          maker=runtime.pki().seal_maker())
    seal = await Seal.create(
        id=seal_id, tenant=tenant, unit_ref=unit_ref, kind=kind, name=name, status="pending",
        source="uploaded" if upload else "generated", spec=art.spec, image_png=art.png,
        black_png=art.black_png, seseal_der=art.seseal_der, valid_from=valid_from,
        valid_until=valid_until, created_by=actor)
    await SealVersion.create(seal=seal, version=1, name=name, spec=art.spec, image_png=art.png,
                             seseal_der=art.seseal_der, reason="made", created_by=actor)
    await audit.record("seal.make", f"seal:{seal.id}", actor=actor,
                       details={"kind": kind, "name": name, "source": seal.source})
    return seal


async def change_seal(tenant: Tenant, runtime, seal_id: str, *, name: str | None,
                      sub_text: str | None, upload: bytes | None, operator: SealOperator,
                      reason: str) -> Seal:
    reason = check_reason(reason)
    async with in_transaction("default"):
        seal = await get_seal(tenant, seal_id, for_update=True)
        operator.check_unit(seal.unit_ref)
        actor = operator.actor
        if seal.status not in ("active", "suspended"):
            raise Conflict(f"cannot change a {seal.status} seal", code="SEAL_TRANSITION_INVALID")
        new_name = name or seal.name
        art = artwork.produce(
            kind=seal.kind, name=new_name,
            sub_text=sub_text if sub_text is not None else seal.spec.get("sub_text") or "",
            code=seal.spec.get("code") or "", upload=upload, es_id=str(seal.id),
            valid_from=seal.valid_from, valid_until=seal.valid_until,
            maker=runtime.pki().seal_maker())
        seal.version += 1
        seal.name, seal.spec, seal.image_png = new_name, art.spec, art.png
        seal.black_png, seal.seseal_der = art.black_png, art.seseal_der
        seal.source = "uploaded" if upload else seal.source
        await seal.save()
        await SealVersion.create(seal=seal, version=seal.version, name=new_name, spec=art.spec,
                                 image_png=art.png, seseal_der=art.seseal_der, reason=reason,
                                 created_by=actor)
        await audit.record("seal.change", f"seal:{seal.id}", actor=actor,
                           details={"version": seal.version, "reason": reason})
    return seal
