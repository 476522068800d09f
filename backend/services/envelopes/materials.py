"""Materials collection [资料收集]: ID card (both sides), qualification certificate ... uploaded
by a signer as images, checked (a real JPEG/PNG, size and pixel limits, not blank) and kept in the
file store; signing is refused until every required kind is there."""
from __future__ import annotations

import io
from typing import Any

from tortoise.transactions import in_transaction

from backend.errors import ValidationFailed
from backend.models.envelope import Envelope, EnvelopeSigner
from backend.services import evidence, file_store
from backend.services.envelopes.sign_step import check_open
from backend.services.envelopes.spec import MATERIAL_KINDS

MAX_BYTES = 8 * 1024 * 1024
MIN_SIDE, MAX_PIXELS = 200, 40_000_000


class MaterialInvalid(ValidationFailed):
    code = "MATERIAL_INVALID"


def inspect_image(data: bytes) -> dict[str, Any]:
    from PIL import Image, ImageStat

    if len(data) > MAX_BYTES:
        raise MaterialInvalid(f"an image may have at most {MAX_BYTES // 1024 // 1024} MB")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in ("JPEG", "PNG"):
                raise MaterialInvalid("send a JPEG or PNG image")
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise MaterialInvalid("the image has too many pixels")
            if min(width, height) < MIN_SIDE:
                raise MaterialInvalid(f"the image must be at least {MIN_SIDE} pixels on each side")
            img.load()
            spread = ImageStat.Stat(img.convert("L")).stddev[0]
    except MaterialInvalid:
        raise
    except Exception as exc:  # PIL raises many kinds for broken files
        raise MaterialInvalid(f"not a readable image: {type(exc).__name__}") from None
    if spread < 2.0:
        raise MaterialInvalid("the image is blank")
    return {"format": img.format, "width": width, "height": height}


async def add_material(runtime, envelope: Envelope, signer: EnvelopeSigner, kind: str,
                       data: bytes, *, ip: str = "", device: str = "") -> dict[str, Any]:
    if kind not in MATERIAL_KINDS:
        raise MaterialInvalid(f"kind must be one of {', '.join(MATERIAL_KINDS)}")
    check_open(envelope)
    facts = await file_store.run(inspect_image, data)
    ref = await file_store.put(runtime, data)
    record = {**facts, "sha256": ref.sha256, "sm3": ref.sm3, "size": ref.size}
    async with in_transaction("default"):
        row = await EnvelopeSigner.filter(id=signer.id).select_for_update().first()
        row.materials = {**row.materials, kind: record}
        await row.save(update_fields=["materials"])
        await evidence.append(envelope.document_id, "material", actor=f"signer:{row.ref or row.id}",
                              ip=ip, device=device,
                              payload={"signer_id": str(row.id), "kind": kind, **record})
    return {"kind": kind, **record,
            "missing": [m for m in row.materials_required if m not in row.materials]}
