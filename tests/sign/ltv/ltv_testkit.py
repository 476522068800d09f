"""Helpers of the LTV tests: a PKI with short-lived signer/TSA certificates and clock-controlled TSAs.

Clock control: nothing is mocked. Certificates get real, short validity periods
(``not_before`` / ``validity``); "the future" is reached by validating ``at=`` later dates, and
the renewal TSA is a real :class:`sign.tsa.TimeStampAuthority` whose ``clock`` says
``NOW + 50 days`` (its certificate is valid then).
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import pikepdf

from sign.certs.ca import CAHierarchy, create_hierarchy
from sign.certs.identity import Identity
from sign.certs.profiles import CompanySubject, TSASubject
from sign.ltv.material import Material
from sign.timestamps import InProcessTimeStamper
from sign.tsa import TimeStampAuthority

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
DAY = dt.timedelta(days=1)
SIGNER_EXPIRES = NOW + 29 * DAY      # signer certificate: valid NOW-1d .. NOW+29d
TSA1_EXPIRES = NOW + 59 * DAY        # first TSA: valid NOW-1d .. NOW+59d
RENEWAL_TIME = NOW + 50 * DAY        # the archive job runs then (TSA1 expires within 30 days)
AFTER_SIGNER = NOW + 45 * DAY        # signer expired, TSA1 still valid
AFTER_TSA1 = NOW + 100 * DAY         # both expired
HORIZON = 30 * DAY
JUST_AFTER = NOW + dt.timedelta(hours=1)   # "now", after the tests' time-stamps


@dataclass
class Pki:
    alg: str
    h: CAHierarchy
    signer: Identity
    tsa1: Identity
    tsa2: Identity

    @property
    def root(self):
        return self.h.root.cert

    def stamper1(self) -> InProcessTimeStamper:
        return InProcessTimeStamper(TimeStampAuthority.from_identity(self.tsa1))

    def stamper2(self, when: dt.datetime = RENEWAL_TIME) -> InProcessTimeStamper:
        return InProcessTimeStamper(TimeStampAuthority.from_identity(self.tsa2, clock=lambda: when))

    def material(self, when: dt.datetime = NOW) -> Material:
        """The issuing CA (chain) and fresh CRLs of both CAs, as of ``when``."""
        return Material(tuple(self.signer.chain),
                        (self.h.issuing.crl(this_update=when), self.h.root.crl(this_update=when)))


def make_pki(alg: str) -> Pki:
    h = create_hierarchy(alg, org="LTV Test", not_before=NOW - 30 * DAY)
    start = NOW - DAY
    signer = h.issuing.new_identity(CompanySubject("长期验证测试保险公司"), not_before=start,
                                    validity=SIGNER_EXPIRES - start)
    tsa1 = h.issuing.new_identity(TSASubject(f"TSA-1 {alg}", "LTV Test"), not_before=start,
                                  validity=TSA1_EXPIRES - start)
    tsa2 = h.issuing.new_identity(TSASubject(f"TSA-2 {alg}", "LTV Test"), not_before=start,
                                  validity=dt.timedelta(days=3 * 365))
    return Pki(alg, h, signer, tsa1, tsa2)


def blank_pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def signed_pdf(pki: Pki) -> bytes:
    """A B-T (GM-T) signature: signer + signature time-stamp from TSA-1."""
    from sign.pdf import sign_pdf
    from sign.signers import SoftwareSigner
    from sign.specs import SignatureSpec

    signer = SoftwareSigner.from_pem(pki.signer.key_pem, pki.signer.cert_pem, pki.signer.chain_pem)
    out = io.BytesIO()
    sign_pdf(blank_pdf(), out, signer, SignatureSpec(timestamper=pki.stamper1(), reason="投保确认"))
    return out.getvalue()


def seal_png() -> bytes:
    from PIL import Image, ImageDraw
    im = Image.new("RGBA", (120, 120), (0, 0, 0, 0))
    ImageDraw.Draw(im).ellipse((4, 4, 116, 116), outline=(220, 0, 0, 255), width=6)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def signed_ofd(pki: Pki) -> bytes:
    from sign.ofd import PageSpec, StampPlacement, Text, generate_ofd, sign_ofd
    from sign.seals import make_seal

    ofd = generate_ofd([PageSpec([Text("电子保单 长期验证", 20, 20, size=6)])])
    seal = make_seal(name="长期验证测试专用章", picture=seal_png(), maker=pki.signer,
                     signer_certs=[pki.signer.cert], valid_start=NOW - DAY, valid_end=SIGNER_EXPIRES)
    return sign_ofd(ofd, pki.signer, seal, StampPlacement(page=1, box=(100, 100, 40, 40))).data


def levels(report: Any) -> list:
    return [s.level for s in report.signatures]


def forge_page_update(data: bytes) -> bytes:
    """An incremental update (appended bytes) replacing page 1's content: a forgery."""
    from sign.pdf.incremental import IncrementalUpdate
    from sign.pdf.pipeline import _dict_without
    from sign.pdf.structure import PdfStructure

    with PdfStructure(data) as st:
        up = IncrementalUpdate(st)
        page = st.page(0).obj
        content = b"BT /F1 12 Tf 10 10 Td (forged) Tj ET"
        num = up.alloc()
        up.add(num, b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        pnum, pgen = page.objgen
        up.add(pnum, _dict_without(page, "/Contents") + b"/Contents %d 0 R >>" % num, pgen)
        return up.serialize()[0]
