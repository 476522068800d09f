"""What a business system asks for when it issues an envelope (frozen, validated here)."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from backend.models.envelope import SIGNER_KINDS
from backend.services.envelopes.errors import EnvelopeSpecInvalid

IDENTITY_METHODS = ("two_factor", "three_factor", "face")
INTENT_METHODS = ("sms", "password", "face", "none")
MATERIAL_KINDS = ("id_card_front", "id_card_back", "qualification", "licence", "other")


@dataclasses.dataclass(frozen=True)
class SignerSpec:
    kind: str
    role: str
    stage: int = 1
    name: str = ""
    id_number: str = ""
    mobile: str = ""
    ref: str = ""
    company_name: str = ""
    seal_id: str = ""
    user_ref: str = ""
    identity: tuple[str, ...] = ()
    intent: str = "sms"
    position: dict[str, Any] = dataclasses.field(default_factory=dict)
    materials: tuple[str, ...] = ()

    def check(self, index: int) -> None:
        where = f"signers[{index}]"
        if self.kind not in SIGNER_KINDS:
            raise EnvelopeSpecInvalid(f"{where}.kind must be one of {', '.join(SIGNER_KINDS)}")
        if self.stage < 1:
            raise EnvelopeSpecInvalid(f"{where}.stage must be 1 or more")
        if self.kind == "person" and not (self.name and self.id_number):
            raise EnvelopeSpecInvalid(f"{where}: a person needs name and id_number")
        if self.kind == "person" and self.intent == "sms" and not self.mobile:
            raise EnvelopeSpecInvalid(f"{where}: SMS intent needs the person's mobile")
        if self.kind == "company" and not (self.company_name and self.user_ref):
            raise EnvelopeSpecInvalid(f"{where}: a company needs company_name and user_ref "
                                      "(the grantee the seal is used by)")
        if self.kind == "approver" and not self.ref:
            raise EnvelopeSpecInvalid(f"{where}: an approver needs ref (the leader's user id)")
        bad = [m for m in self.identity if m not in IDENTITY_METHODS]
        if bad or self.intent not in INTENT_METHODS:
            raise EnvelopeSpecInvalid(f"{where}: unknown identity or intent method")
        if any(m not in MATERIAL_KINDS for m in self.materials):
            raise EnvelopeSpecInvalid(f"{where}.materials: one of {', '.join(MATERIAL_KINDS)}")


@dataclasses.dataclass(frozen=True)
class EnvelopeSpec:
    title: str
    signers: tuple[SignerSpec, ...]
    doc_type: str = ""
    business_no: str = ""
    policy_no: str = ""
    template: str = ""
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    pdf: bytes | None = None
    unit_ref: str = ""
    business_line: str = ""
    clauses: tuple[dict[str, Any], ...] = ()
    changes: tuple[dict[str, Any], ...] = ()
    deadline_at: dt.datetime | None = None
    valid_until: dt.date | None = None
    send: bool = True
    notify: bool = True

    def check(self) -> None:
        if not self.signers:
            raise EnvelopeSpecInvalid("an envelope needs at least one signer")
        if bool(self.template) == (self.pdf is not None):
            raise EnvelopeSpecInvalid("give either template (with params) or pdf_base64")
        for i, signer in enumerate(self.signers):
            signer.check(i)
        ids = [c.get("id") for c in self.clauses]
        if any(not i for i in ids) or len(set(ids)) != len(ids):
            raise EnvelopeSpecInvalid("every clause needs a unique id")
        stages = sorted({s.stage for s in self.signers})
        if stages != list(range(1, len(stages) + 1)):
            raise EnvelopeSpecInvalid("stages must be numbered 1, 2, 3 ... without gaps")
        if self.deadline_at is not None and self.deadline_at <= dt.datetime.now(dt.timezone.utc):
            raise EnvelopeSpecInvalid("deadline_at must be in the future")

    @classmethod
    def from_dict(cls, raw: dict[str, Any], **overrides: Any) -> "EnvelopeSpec":
        """From the API body (or a batch's stored spec + an item's params)."""
        raw = {**raw, **overrides}
        signers = tuple(SignerSpec(**{**s, "identity": tuple(s.get("identity") or ()),
                                      "materials": tuple(s.get("materials") or ()),
                                      "position": dict(s.get("position") or {})})
                        for s in raw.pop("signers", ()))
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in raw.items() if k in fields}
        if isinstance(values.get("deadline_at"), str):  # a batch's stored (JSON) spec
            values["deadline_at"] = dt.datetime.fromisoformat(values["deadline_at"])
        if isinstance(values.get("valid_until"), str):
            values["valid_until"] = dt.date.fromisoformat(values["valid_until"])
        values["clauses"] = tuple(values.get("clauses") or ())
        values["changes"] = tuple(values.get("changes") or ())
        return cls(signers=signers, **values)
