"""The one place the backend calls ``sign.seals``: picture, black copy and SESeal for a seal.

``sign.seals`` raises ``SealError`` subclasses with stable codes; they become 422 errors here.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from backend.errors import ValidationFailed
from sign.certs.identity import Identity
from sign.seals import SealError, make_seal
from sign.seals.specs import SealKind, SealSpec

SEAL_TYPES = {"official": 1, "contract": 2, "finance": 2, "legal_rep": 3, "personal": 4}
SIZE_MM = {"legal_rep": 20, "personal": 40}


class SealInputInvalid(ValidationFailed):
    """A seal text or picture that ``sign.seals`` refused; the code is its own."""


@dataclasses.dataclass(frozen=True)
class Artwork:
    png: bytes
    black_png: bytes
    seseal_der: bytes
    spec: dict[str, Any]


def produce(*, kind: str, name: str, sub_text: str, code: str, upload: bytes | None, es_id: str,
            valid_from: dt.datetime, valid_until: dt.datetime, maker: Identity) -> Artwork:
    from sign.seals import render, upload as uploads, variants  # noqa: PLC0415

    try:
        if upload is not None:
            png = (uploads.clean_signature_image(upload) if kind == "personal"
                   else uploads.clean_seal_image(upload))
            spec = {"kind": kind, "text": name, "uploaded": True}
        else:
            seal_spec = SealSpec(kind=SealKind(kind), text=name, sub_text=sub_text or None,
                                 code=code or None)
            png = render.render_seal(seal_spec)
            spec = {"kind": kind, "text": name, "sub_text": seal_spec.sub_text or "",
                    "code": code, "size_mm": seal_spec.size_mm}
        black = variants.render_black(png)
        size = SIZE_MM.get(kind, 42)
        der = make_seal(name=name, picture=png, maker=maker, seal_type=SEAL_TYPES[kind],
                        width_mm=size, height_mm=size, valid_start=valid_from,
                        valid_end=valid_until, es_id=es_id)
    except SealError as exc:
        raise SealInputInvalid(str(exc), code=exc.code) from None
    return Artwork(png=png, black_png=black, seseal_der=der, spec=spec)
