"""Physical seals and U-keys registered as records, so that their use is logged too."""
from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend import audit
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.ids import parse_uuid
from backend.models.seal import SealDevice, SealUse
from backend.models.tenant import Tenant
from backend.services.seals.lifecycle import get_seal


class DeviceNotFound(NotFound):
    code, message = "SEAL_DEVICE_NOT_FOUND", "no such physical seal or U-key"


async def register_device(tenant: Tenant, *, kind: str, serial: str, holder: str, location: str,
                          seal_id: str | None, operator) -> SealDevice:
    if kind not in ("physical", "ukey"):
        raise ValidationFailed("kind must be physical or ukey", code="DEVICE_KIND_INVALID")
    seal = await get_seal(tenant, seal_id) if seal_id else None
    operator.check_unit(seal.unit_ref if seal else "hq")
    actor = operator.actor
    try:
        async with in_transaction("default"):
            device = await SealDevice.create(tenant=tenant, seal=seal, kind=kind, serial=serial,
                                             holder=holder, location=location)
            await audit.record("seal_device.register", f"device:{device.id}", actor=actor,
                               details={"kind": kind, "serial": serial})
    except IntegrityError:
        raise Conflict("this device is already registered", code="DEVICE_EXISTS") from None
    return device


async def log_device_use(tenant: Tenant, device_id: str, *, user_ref: str, document_ref: str,
                         ip: str, operator) -> SealUse:
    """Record a use of a physical seal / U-key (no electronic check is possible: it is evidence)."""
    device = await SealDevice.get_or_none(id=parse_uuid(device_id, DeviceNotFound),
                                          tenant_id=tenant.id)
    if device is None:
        raise DeviceNotFound()
    if device.seal_id is None:
        raise Conflict("link the device to its seal record first", code="DEVICE_NOT_LINKED")
    operator.check_unit((await device.seal).unit_ref)
    actor = operator.actor
    async with in_transaction("default"):
        use = await SealUse.create(tenant=tenant, seal_id=device.seal_id, user_ref=user_ref,
                                   document_ref=document_ref, ip=ip,
                                   device=f"{device.kind}:{device.serial}", result="allowed",
                                   reason="physical")
        await audit.record("seal_device.use", f"device:{device.id}", actor=actor,
                           details={"document": document_ref, "user": user_ref})
    return use


def present_device(device: SealDevice) -> dict[str, Any]:
    return {"id": str(device.id), "kind": device.kind, "serial": device.serial,
            "holder": device.holder, "location": device.location,
            "seal_id": str(device.seal_id) if device.seal_id else None}


def present_use(use: SealUse) -> dict[str, Any]:
    return {"id": use.id, "seal_id": str(use.seal_id), "user_ref": use.user_ref,
            "document_ref": use.document_ref, "document_type": use.document_type,
            "flow": use.flow, "ip": use.ip, "device": use.device, "region": use.region,
            "result": use.result, "reason": use.reason, "created_at": use.created_at.isoformat()}
