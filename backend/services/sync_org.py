"""Synchronise units, departments and users from one source [组织架构同步].

A source (``push``: business systems via ``POST /api/v1/org/sync``; ``dingtalk``: the contacts
API) sends a snapshot. ``full`` means "this is everything": rows of that source missing from the
snapshot are disabled (users are disabled, never deleted). ``incremental`` only applies what it
carries (``"status": "disabled"`` disables). Rows are matched by their id in that source; a user
new to a source is linked to an existing user with the same mobile (blind index) when that user
has no id in the source yet.

Problems never abort the run: each one is reported as a conflict and the item is skipped:
``duplicate_id`` (same id twice), ``unknown_parent`` / ``unknown_unit`` / ``unknown_department``
(a reference to nothing), ``cycle`` (a unit or department that is its own ancestor),
``mobile_taken`` (the mobile belongs to another user already holding a different id in this
source) and ``hq_has_parent``.

Unit changes (``created``, ``moved``, ``renamed``, ``disabled``, ``enabled``) are written to the
operation log and passed to ``org_events`` listeners in the same transaction, so that seals and
grants owned by a unit follow it. Disabled users lose their sessions.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from tortoise.transactions import in_transaction

from backend import audit
from backend.cache import Cache
from backend.errors import NotFound, ValidationFailed
from backend.fieldcrypt import FieldCipher, mask
from backend.ids import parse_uuid
from backend.models.admin import Session
from backend.models.org import SOURCES, UNIT_KINDS, Department, SyncRun, Unit, User
from backend.models.tenant import Tenant
from backend.services import org_events, org_seal_follow  # noqa: F401 - seals follow units

MODES = ("full", "incremental")


class SyncRunNotFound(NotFound):
    code, message = "SYNC_RUN_NOT_FOUND", "this sync run does not exist"


@dataclasses.dataclass(frozen=True)
class UnitIn:
    id: str
    name: str
    kind: str
    parent_id: str | None = None
    status: str = "active"


@dataclasses.dataclass(frozen=True)
class DepartmentIn:
    id: str
    name: str
    unit_id: str
    parent_id: str | None = None
    status: str = "active"


@dataclasses.dataclass(frozen=True)
class UserIn:
    id: str
    name: str
    mobile: str | None = None
    unit_id: str | None = None
    department_id: str | None = None
    status: str = "active"


@dataclasses.dataclass
class Snapshot:
    units: list[UnitIn] = dataclasses.field(default_factory=list)
    departments: list[DepartmentIn] = dataclasses.field(default_factory=list)
    users: list[UserIn] = dataclasses.field(default_factory=list)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class _Report:
    def __init__(self) -> None:
        self.counts = {k: {"created": 0, "updated": 0, "disabled": 0, "unchanged": 0}
                       for k in ("units", "departments", "users")}
        self.conflicts: list[dict[str, str]] = []

    def count(self, kind: str, what: str) -> None:
        self.counts[kind][what] += 1

    def conflict(self, kind: str, ext_id: str, reason: str, detail: str = "") -> None:
        self.conflicts.append({"kind": kind, "id": ext_id, "reason": reason, "detail": detail})

    def total(self, what: str) -> int:
        return sum(c[what] for c in self.counts.values())


async def run_sync(tenant: Tenant, source: str, mode: str, snapshot: Snapshot, *,
                   cipher: FieldCipher, cache: Cache | None = None,
                   trigger: str = "api") -> SyncRun:
    """Apply a snapshot and return the finished ``SyncRun`` (its report).

    Runs in the caller's transaction when one is open (the idempotency wrapper), else its own;
    syncs of one tenant are serialised by a lock in ``cache`` when given.
    """
    if source not in SOURCES:
        raise ValidationFailed(f"unknown source {source!r}", code="SYNC_SOURCE_INVALID")
    if mode not in MODES:
        raise ValidationFailed("mode must be full or incremental", code="SYNC_MODE_INVALID")
    if cache is None:
        return await _run_locked(tenant, source, mode, snapshot, cipher, trigger)
    async with cache.lock(f"org-sync:{tenant.id}", ttl=600, wait=120):
        return await _run_locked(tenant, source, mode, snapshot, cipher, trigger)


async def _run_locked(tenant: Tenant, source: str, mode: str, snapshot: Snapshot,
                      cipher: FieldCipher, trigger: str) -> SyncRun:
    async with in_transaction("default"):
        run = await SyncRun.create(tenant=tenant, source=source, mode=mode, trigger=trigger,
                                   started_at=_now())
        syncer = _Syncer(tenant, source, mode, cipher)
        await syncer.apply(snapshot)
        report = syncer.report
        run.created, run.updated = report.total("created"), report.total("updated")
        run.disabled, run.unchanged = report.total("disabled"), report.total("unchanged")
        run.counts, run.conflicts = report.counts, report.conflicts
        run.status, run.finished_at = "ok", _now()
        await run.save()
        await audit.record("org.sync", f"sync:{run.id}", tenant_id=str(tenant.id),
                           result="ok" if not report.conflicts else "conflicts",
                           details={"source": source, "mode": mode, "trigger": trigger,
                                    "created": run.created, "updated": run.updated,
                                    "disabled": run.disabled,
                                    "conflicts": len(report.conflicts)})
    return run


def _ordered(items: list, kind: str, report: _Report) -> list:
    """Parents before children; items in a cycle (or under one) are reported and dropped."""
    by_id: dict[str, Any] = {}
    for item in items:
        if item.id in by_id:
            report.conflict(kind, item.id, "duplicate_id", "the id appears more than once")
            continue
        by_id[item.id] = item
    ordered, state = [], {}  # state: 1 visiting, 2 done, 3 bad

    def visit(ext_id: str) -> bool:
        chain, current = [], ext_id
        while True:  # iterative walk up the parent chain
            if state.get(current) == 2:
                break
            if state.get(current) == 3:
                for c in chain:
                    state[c] = 3
                return False
            if current in chain:
                for c in chain:
                    state[c] = 3
                    report.conflict(kind, c, "cycle", "the item is its own ancestor")
                return False
            chain.append(current)
            parent = by_id[current].parent_id
            if parent is None or parent not in by_id:
                break
            current = parent
        for c in reversed(chain):
            if state.get(c) != 2:
                state[c] = 2
                ordered.append(by_id[c])
        return True

    for ext_id in by_id:
        visit(ext_id)
    return ordered


class _Syncer:
    def __init__(self, tenant: Tenant, source: str, mode: str, cipher: FieldCipher) -> None:
        self.tenant, self.source, self.mode, self.cipher = tenant, source, mode, cipher
        self.col = f"{source}_id"
        self.report = _Report()
        self.now = _now()

    def ext(self, row: Any) -> str | None:
        return getattr(row, self.col)

    async def apply(self, snapshot: Snapshot) -> None:
        units = {self.ext(u): u for u in await Unit.filter(tenant_id=self.tenant.id)
                 if self.ext(u) is not None}
        seen_units = await self._units(snapshot.units, units)
        depts = {self.ext(d): d for d in await Department.filter(tenant_id=self.tenant.id)
                 if self.ext(d) is not None}
        seen_depts = await self._departments(snapshot.departments, units, depts)
        seen_users = await self._users(snapshot.users, units, depts)
        if self.mode == "full":
            await self._disable_missing(units, seen_units, depts, seen_depts, seen_users)

    # ---- units --------------------------------------------------------------------------
    async def _units(self, items: list[UnitIn], units: dict[str, Unit]) -> set[str]:
        seen = {item.id for item in items}  # conflicting items are kept as they are
        for item in _ordered(items, "unit", self.report):
            if item.kind not in UNIT_KINDS:
                self.report.conflict("unit", item.id, "kind_invalid", item.kind)
                continue
            if item.kind == "hq" and item.parent_id:
                self.report.conflict("unit", item.id, "hq_has_parent", item.parent_id)
                continue
            parent = None
            if item.parent_id:
                parent = units.get(item.parent_id)
                if parent is None:
                    self.report.conflict("unit", item.id, "unknown_parent", item.parent_id)
                    continue
            disabled = item.status == "disabled"
            row = units.get(item.id)
            if row is None:
                row = await Unit.create(tenant_id=self.tenant.id, name=item.name, kind=item.kind,
                                        parent=parent, disabled_at=self.now if disabled else None,
                                        **{self.col: item.id})
                units[item.id] = row
                self.report.count("units", "created")
                await self._unit_changed(row, "created", {})
                continue
            changes = []
            if row.name != item.name:
                changes.append(("renamed", {"from": row.name, "to": item.name}))
                row.name = item.name
            if row.kind != item.kind:
                changes.append(("reclassified", {"from": row.kind, "to": item.kind}))
                row.kind = item.kind
            new_parent = parent.id if parent else None
            if row.parent_id != new_parent:
                changes.append(("moved", {"from": str(row.parent_id) if row.parent_id else None,
                                          "to": str(new_parent) if new_parent else None}))
                row.parent_id = new_parent
            if disabled and row.disabled_at is None:
                changes.append(("disabled", {}))
                row.disabled_at = self.now
            elif not disabled and row.disabled_at is not None:
                changes.append(("enabled", {}))
                row.disabled_at = None
            if not changes:
                self.report.count("units", "unchanged")
                continue
            await row.save()
            self.report.count("units", "disabled" if changes[-1][0] == "disabled"
                              and len(changes) == 1 else "updated")
            for change, details in changes:
                await self._unit_changed(row, change, details)
        return seen

    async def _unit_changed(self, unit: Unit, change: str, details: dict[str, Any]) -> None:
        await audit.record(f"org.unit.{change}", f"unit:{unit.id}", tenant_id=str(self.tenant.id),
                           details={"source": self.source, "external_id": self.ext(unit),
                                    "name": unit.name, **details})
        await org_events.unit_changed(org_events.UnitChange(
            tenant_id=str(self.tenant.id), unit_id=str(unit.id), change=change,
            details=details))

    # ---- departments --------------------------------------------------------------------
    async def _departments(self, items: list[DepartmentIn], units: dict[str, Unit],
                           depts: dict[str, Department]) -> set[str]:
        seen = {item.id for item in items}
        for item in _ordered(items, "department", self.report):
            unit = units.get(item.unit_id)
            if unit is None:
                self.report.conflict("department", item.id, "unknown_unit", item.unit_id)
                continue
            parent = None
            if item.parent_id:
                parent = depts.get(item.parent_id)
                if parent is None:
                    self.report.conflict("department", item.id, "unknown_parent", item.parent_id)
                    continue
            disabled_at = self.now if item.status == "disabled" else None
            row = depts.get(item.id)
            if row is None:
                depts[item.id] = await Department.create(
                    tenant_id=self.tenant.id, unit=unit, parent=parent, name=item.name,
                    disabled_at=disabled_at, **{self.col: item.id})
                self.report.count("departments", "created")
                continue
            wanted = {"name": item.name, "unit_id": unit.id,
                      "parent_id": parent.id if parent else None}
            changed = {k: v for k, v in wanted.items() if getattr(row, k) != v}
            disabling = disabled_at is not None and row.disabled_at is None
            enabling = disabled_at is None and row.disabled_at is not None
            if not changed and not disabling and not enabling:
                self.report.count("departments", "unchanged")
                continue
            for k, v in changed.items():
                setattr(row, k, v)
            if disabling or enabling:
                row.disabled_at = disabled_at
            await row.save()
            self.report.count("departments", "disabled" if disabling and not changed else "updated")
        return seen

    # ---- users --------------------------------------------------------------------------
    async def _users(self, items: list[UserIn], units: dict[str, Unit],
                     depts: dict[str, Department]) -> set[str]:
        existing = {self.ext(u): u for u in await User.filter(tenant_id=self.tenant.id)
                    if self.ext(u) is not None}
        seen: set[str] = set()
        for item in items:
            if item.id in seen:
                self.report.conflict("user", item.id, "duplicate_id",
                                     "the id appears more than once")
                continue
            seen.add(item.id)
            unit = dept = None
            if item.status == "disabled" and item.id in existing:
                await self._disable_leaver(existing[item.id])
                continue
            if item.unit_id:
                unit = units.get(item.unit_id)
                if unit is None:
                    self.report.conflict("user", item.id, "unknown_unit", item.unit_id)
                    continue
            if item.department_id:
                dept = depts.get(item.department_id)
                if dept is None:
                    self.report.conflict("user", item.id, "unknown_department",
                                         item.department_id)
                    continue
                if unit is None:
                    unit = next((u for u in units.values() if u.id == dept.unit_id), None)
            index = self.cipher.blind_index(item.mobile, "mobile") if item.mobile else None
            row, linked = existing.get(item.id), False
            if row is None and index:
                match = await User.filter(tenant_id=self.tenant.id, mobile_index=index).first()
                if match is not None:
                    if self.ext(match) is not None:
                        self.report.conflict("user", item.id, "mobile_taken",
                                             f"the mobile belongs to {self.source} user "
                                             f"{self.ext(match)}")
                        continue
                    row, linked = match, True
                    setattr(row, self.col, item.id)
                    existing[item.id] = row
            if row is None:
                row = User(tenant_id=self.tenant.id, name=item.name, **{self.col: item.id})
                self._set_fields(row, item, unit, dept, index)
                await row.save()
                existing[item.id] = row
                self.report.count("users", "created")
                continue
            before = self._snapshot(row)
            was_active = row.status == "active"
            self._set_fields(row, item, unit, dept, index)
            if self._snapshot(row) == before and not linked:
                self.report.count("users", "unchanged")
                continue
            await row.save()
            if was_active and row.status == "disabled":
                self.report.count("users", "disabled")
                await self._user_disabled(row)
            else:
                self.report.count("users", "updated")
        return seen

    async def _disable_leaver(self, row: User) -> None:
        """A user marked disabled: only the status changes (the record may carry nothing else,
        and may still name a unit that is gone)."""
        if row.status == "disabled":
            self.report.count("users", "unchanged")
            return
        row.status, row.disabled_at = "disabled", self.now
        await row.save(update_fields=["status", "disabled_at", "updated_at"])
        self.report.count("users", "disabled")
        await self._user_disabled(row)

    def _snapshot(self, row: User) -> dict[str, Any]:
        return {"name": row.name, "unit": row.unit_id, "dept": row.department_id,
                "mobile": row.mobile_index, "status": row.status, "push": row.push_id,
                "dingtalk": row.dingtalk_id}

    def _set_fields(self, row: User, item: UserIn, unit: Unit | None, dept: Department | None,
                    index: str | None) -> None:
        row.name = item.name
        row.unit_id = unit.id if unit else None
        row.department_id = dept.id if dept else None
        if index != row.mobile_index:
            row.mobile_index = index
            row.mobile_enc = self.cipher.encrypt(item.mobile, "user.mobile") if item.mobile \
                else None
            row.mobile_masked = mask(item.mobile, 3, 4) if item.mobile else ""
        if item.status == "disabled" and row.status != "disabled":
            row.status, row.disabled_at = "disabled", self.now
        elif item.status != "disabled" and row.status == "disabled":
            row.status, row.disabled_at = "active", None

    async def _user_disabled(self, user: User) -> None:
        await Session.filter(user_id=user.id, revoked_at=None).update(revoked_at=self.now)
        await audit.record("org.user.disable", f"user:{user.id}", tenant_id=str(self.tenant.id),
                           details={"source": self.source, "external_id": self.ext(user)})
        await org_events.user_disabled(org_events.UserDisabled(
            tenant_id=str(self.tenant.id), user_id=str(user.id),
            refs=tuple(r for r in (str(user.id), user.push_id, user.dingtalk_id) if r),
            reason=f"{self.source} sync"))

    # ---- full sync: what disappeared ----------------------------------------------------
    async def _disable_missing(self, units: dict[str, Unit], seen_units: set[str],
                               depts: dict[str, Department], seen_depts: set[str],
                               seen_users: set[str]) -> None:
        for ext_id, user in [(self.ext(u), u) for u in await User.filter(
                tenant_id=self.tenant.id, status="active")]:
            if ext_id is not None and ext_id not in seen_users:
                user.status, user.disabled_at = "disabled", self.now
                await user.save(update_fields=["status", "disabled_at", "updated_at"])
                self.report.count("users", "disabled")
                await self._user_disabled(user)
        for ext_id, dept in depts.items():
            if ext_id not in seen_depts and dept.disabled_at is None:
                dept.disabled_at = self.now
                await dept.save(update_fields=["disabled_at", "updated_at"])
                self.report.count("departments", "disabled")
        for ext_id, unit in units.items():
            if ext_id not in seen_units and unit.disabled_at is None:
                unit.disabled_at = self.now
                await unit.save(update_fields=["disabled_at", "updated_at"])
                self.report.count("units", "disabled")
                await self._unit_changed(unit, "disabled", {"reason": "missing_from_full_sync"})


# ---- reading ------------------------------------------------------------------------------
def present_run(run: SyncRun) -> dict[str, Any]:
    return {"id": str(run.id), "source": run.source, "mode": run.mode, "trigger": run.trigger,
            "status": run.status, "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "created": run.created, "updated": run.updated, "disabled": run.disabled,
            "unchanged": run.unchanged, "counts": run.counts, "conflicts": run.conflicts,
            "error": run.error}


async def get_run(tenant_id: str, run_id: str) -> SyncRun:
    run = await SyncRun.get_or_none(tenant_id=tenant_id, id=parse_uuid(run_id, SyncRunNotFound))
    if run is None:
        raise SyncRunNotFound()
    return run


async def list_runs(tenant_id: str, limit: int, offset: int) -> list[dict[str, Any]]:
    runs = await SyncRun.filter(tenant_id=tenant_id).order_by("-started_at").offset(offset) \
        .limit(limit)
    return [present_run(r) for r in runs]
