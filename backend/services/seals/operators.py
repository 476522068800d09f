"""Who may manage seals [分级分权]: a security administrator (三员分立), and a branch's security
administrator only for its own unit's seals (headquarters' for all).

The acting person is named by the business system (``X-Operator`` = the user's id in the
organisation push, or a DingTalk user id); they must be an active synced user holding the
``security`` admin role. ``SEAL_ADMIN_CHECK=false`` turns the check off (demo only; refused in
production).
"""
from __future__ import annotations

import dataclasses

from tortoise.expressions import Q

from backend.errors import Forbidden
from backend.models.admin import AdminRole
from backend.models.org import Unit, User
from backend.models.tenant import Tenant

SECURITY_ROLE = "security"


class SealAdminRequired(Forbidden):
    code, message = "SEAL_ADMIN_REQUIRED", "only a security administrator may manage seals"


class SealUnitForbidden(Forbidden):
    code, message = "SEAL_UNIT_FORBIDDEN", "a branch administrator manages only its unit's seals"


@dataclasses.dataclass(frozen=True)
class SealOperator:
    ref: str
    unit_ref: str | None  # None = headquarters: every unit
    checked: bool

    @property
    def actor(self) -> str:
        return self.ref if ":" in self.ref else f"user:{self.ref}"

    @classmethod
    def system(cls, actor: str) -> "SealOperator":
        """The platform itself (e.g. organisation sync suspending a closed unit's seals)."""
        return cls(actor, None, checked=False)

    def check_unit(self, seal_unit: str) -> None:
        if self.checked and self.unit_ref is not None and seal_unit != self.unit_ref:
            raise SealUnitForbidden()


async def seal_operator(tenant: Tenant, operator_ref: str, *, enforce: bool) -> SealOperator:
    if not enforce:
        return SealOperator(operator_ref, None, checked=False)
    user = await User.filter(Q(push_id=operator_ref) | Q(dingtalk_id=operator_ref),
                             tenant_id=tenant.id, status="active").first()
    role = await AdminRole.get_or_none(user_id=user.id) if user else None
    if user is None or role is None or role.role != SECURITY_ROLE:
        raise SealAdminRequired()
    unit = await Unit.get_or_none(id=user.unit_id) if user.unit_id else None
    if unit is None or unit.kind == "hq":
        return SealOperator(operator_ref, None, checked=True)
    return SealOperator(operator_ref, unit.push_id or str(unit.id), checked=True)
