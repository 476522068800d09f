"""Seals [印章]: seal images, uploads, GB/T 38540 / GM/T 0031 electronic-seal structures.

Pure library (no web, no ORM). Errors are :class:`sign.seals.errors.SealError` subclasses with a
stable ``code``.

Images (transparent RGBA PNG bytes, anti-aliased, DPI metadata from the physical size)::

    spec = SealSpec.official("某某保险股份有限公司", code="1101080012345")   # frozen dataclass
    png = render_seal(spec, size_px=400)   # also .contract/.finance/.oval/.legal_rep/.personal
                                           # SealTextTooLong (SEAL_TEXT_TOO_LONG) when it cannot fit
    png = clean_seal_image(photo_bytes)    # photo/scan of a physical seal -> red, cropped, square
    png = clean_signature_image(photo_bytes, ink="black")   # handwritten signature upload
    png = render_black(png); png = render_watermarked(png)  # 黑色章样式 / "copy" variant

GB/T 38540 / GM/T 0031 (:mod:`sign.seals.gbt38540`) — for OFD/PDF signers and verifiers::

    der = make_seal(name=..., picture=png, maker=identity_sm2, signer_certs=[cert], version=4)
    info = parse_seal(der)            # SealInfo: family "v1"/"v4", version, es_id, name, type,
                                      # valid_start/valid_end, picture(+_type, _width_mm), maker_cert,
                                      # signer_certs / signer_cert_digests, signed_bytes, der
    check = verify_seal(der_or_info, at=None)        # SealVerification: .valid, .signature_ok,
                                                     # .within_validity, .signed_scope, .codes
    sig = make_ses_signature(seal_der, sm3(Signature.xml), signer_identity)
    sinfo = parse_ses_signature(sig)  # SESSignatureInfo: seal, time_info, data_hash, property_info,
                                      # signer_cert, signature, signed_bytes (= DER of TBS_Sign)
    res = verify_ses_signature(sig, data_hash_expected=digest)   # .valid, .codes, .seal (SealVerification)

Verification is cryptographic + validity period only; certificate trust (chain, revocation) is
left to :func:`sign.certs.validate_chain` on ``maker_cert`` / ``signer_cert``.

:func:`sign.seals.appearance.seal_appearance_png` extracts a seal's picture as RGBA PNG
(``SEAL_PICTURE_NOT_RASTER`` for OFD/SVG pictures).
"""
from __future__ import annotations

from sign.seals.appearance import seal_appearance_png
from sign.seals.render import render_seal, render_signature
from sign.seals.specs import SealKind, SealSpec
from sign.seals.upload import clean_seal_image, clean_signature_image
from sign.seals.variants import render_black, render_watermarked
from sign.seals.errors import (
    FontNotFound, SealError, SealFormatError, SealImageBlank, SealImageInvalid, SealImageTooLarge,
    SealSpecInvalid, SealTextTooLong, SealUnsupported,
)
from sign.seals.gbt38540 import (
    SealInfo, SealVerification, SESSignatureInfo, SESSignatureVerification, make_seal, make_ses_signature,
    parse_seal, parse_ses_signature, verify_seal, verify_ses_signature,
)

__all__ = [
    "FontNotFound", "SealError", "SealFormatError", "SealImageBlank", "SealImageInvalid", "SealImageTooLarge",
    "SealSpecInvalid", "SealTextTooLong", "SealUnsupported",
    "SealInfo", "SealVerification", "SESSignatureInfo", "SESSignatureVerification",
    "make_seal", "make_ses_signature", "parse_seal", "parse_ses_signature", "verify_seal", "verify_ses_signature",
    "seal_appearance_png", "SealKind", "SealSpec", "render_seal", "render_signature",
    "clean_seal_image", "clean_signature_image", "render_black", "render_watermarked",
]
