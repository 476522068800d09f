"""Rating, monthly statements and provider clearing [计费, 对账单, 清分].

A month's usage is rated against the tenant's price plan, per kind:

* ``unit_price``: quantity x price;
* ``tiers`` ``[{"up_to": n | null, "price": fen}]``: marginal pricing, each tier's price applies
  to the quantity that falls inside it (``up_to`` is cumulative, null = no upper bound);
* ``package`` ``{"included": n, "fee": fen}``: the monthly fee, the included quantity free, and
  the overage priced by ``tiers`` or ``unit_price`` (only when ``overdraft`` is allowed can there
  be any overage).

Every amount is integer fen and every total is the exact sum of its lines. A unit's statement
takes its share of each tenant line in proportion to its quantity (largest-remainder rounding,
ties to the smaller unit reference), so the unit statements add up exactly to the tenant's.
Kinds without a price in the plan are listed with amount 0.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections import defaultdict
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.errors import AppError, NotFound, ValidationFailed
from backend.models.billing import PricePlan, Statement, UsageEvent
from backend.services.metering import KINDS, current_month

#: Default provider cost prices in fen (clearing), overridable per plan (``provider_costs``).
PROVIDER_COSTS: dict[str, dict[str, int]] = {
    "aliyun_sms": {"sms.sent": 4},
    "aliyun": {"identity.two_factor": 30, "identity.three_factor": 40,
               "identity.enterprise": 50},
    "aliyun_market": {"identity.two_factor": 30, "identity.three_factor": 40,
                      "identity.enterprise": 50},
    "tencent_faceid": {"identity.face": 100},
}
ALL = "*"
CSV_COLUMNS = ("month", "unit", "kind", "description", "quantity", "unit_price", "amount")


class MonthInvalid(ValidationFailed):
    code, message = "MONTH_INVALID", "month must be YYYY-MM"


def check_month(month: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month or ""):
        raise MonthInvalid()
    return month


def validate_item(kind: str, item: dict[str, Any]) -> None:
    if kind not in KINDS:
        raise ValidationFailed(f"unknown kind {kind}", code="PLAN_INVALID")
    tiers = item.get("tiers") or []
    bounds = [t.get("up_to") for t in tiers]
    if tiers and (bounds[-1] is not None or any(b is None for b in bounds[:-1])
                  or any(x >= y for x, y in zip(bounds[:-2], bounds[1:-1]))):
        raise ValidationFailed(f"{kind}: tier bounds must rise and the last tier be open",
                               code="PLAN_INVALID")


# ---------------------------------------------------------------------------------------------
# Rating
# ---------------------------------------------------------------------------------------------
def _priced(kind: str, quantity: int, item: dict[str, Any], what: str) -> list[dict[str, Any]]:
    """Lines for ``quantity`` units priced by tiers (marginal) or the unit price."""
    if quantity <= 0:
        return []
    tiers = item.get("tiers")
    if tiers:
        lines, lower = [], 0
        for tier in tiers:
            upper = tier.get("up_to")
            top = quantity if upper is None else min(int(upper), quantity)
            if top > lower:
                label = f"{what} {lower + 1}-{'' if upper is None else upper}"
                lines.append(_line(kind, label, top - lower, int(tier["price"])))
            if upper is None or upper >= quantity:
                break
            lower = int(upper)
        return lines
    return [_line(kind, what, quantity, int(item.get("unit_price", 0)))]


def _line(kind: str, description: str, quantity: int, unit_price: int) -> dict[str, Any]:
    return {"kind": kind, "description": description, "quantity": quantity,
            "unit_price": unit_price, "amount": quantity * unit_price}


def rate(kind: str, quantity: int, item: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The statement lines of one kind's monthly quantity under its plan item."""
    if not item:
        return [_line(kind, "unpriced", quantity, 0)] if quantity else []
    package = item.get("package")
    if package:
        included, fee = int(package["included"]), int(package["fee"])
        lines = [_line(kind, f"monthly package ({included} included)", 1, fee)]
        if quantity:
            lines.append(_line(kind, "included in package", min(quantity, included), 0))
        overage = max(0, quantity - included)
        if overage:
            # tiers of a package item count from the first unit over the package
            lines += _priced(kind, overage, item, "overage")
        return lines
    return _priced(kind, quantity, item, "usage")


async def _quantities(tenant_id: str, month: str) -> dict[tuple[str, str], int]:
    """(kind, unit_ref) -> quantity of the month."""
    rows = await UsageEvent.filter(tenant_id=tenant_id, month=month) \
        .values_list("kind", "unit_ref", "quantity")
    out: dict[tuple[str, str], int] = defaultdict(int)
    for kind, unit, quantity in rows:
        out[(kind, unit)] += quantity
    return out


async def usage(tenant_id: Any, month: str) -> dict[str, Any]:
    rows = await UsageEvent.filter(tenant_id=str(tenant_id), month=check_month(month)) \
        .values_list("kind", "unit_ref", "business_line", "provider", "quantity")
    groups: dict[tuple, int] = defaultdict(int)
    by_kind: dict[str, int] = defaultdict(int)
    for kind, unit, line, provider, quantity in rows:
        groups[(kind, unit, line, provider)] += quantity
        by_kind[kind] += quantity
    return {"month": month, "by_kind": dict(sorted(by_kind.items())),
            "items": [{"kind": k, "unit_ref": u, "business_line": b, "provider": p,
                       "quantity": q} for (k, u, b, p), q in sorted(groups.items())]}


def _allocate(amount: int, shares: dict[str, int]) -> dict[str, int]:
    """Split ``amount`` over ``shares`` in proportion, integers summing exactly to ``amount``."""
    total = sum(shares.values())
    if total == 0:
        return {ALL if not shares else sorted(shares)[0]: amount}
    base = {u: amount * q // total for u, q in shares.items()}
    rest = amount - sum(base.values())
    order = sorted(shares, key=lambda u: (-(amount * shares[u] % total), u))
    for unit in order[:rest]:
        base[unit] += 1
    return base


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


async def statements(tenant_id: Any, month: str) -> dict[str, dict[str, Any]]:
    """The tenant statement (key ``*``) and one per unit seen in the month's usage."""
    tenant_id, month = str(tenant_id), check_month(month)
    plan = await PricePlan.get_or_none(tenant_id=tenant_id)
    items = plan.items if plan else {}
    quantities = await _quantities(tenant_id, month)
    per_kind: dict[str, dict[str, int]] = defaultdict(dict)
    for (kind, unit), quantity in quantities.items():
        per_kind[kind][unit] = quantity
    for kind, item in items.items():  # packages are billed even without usage
        if item.get("package"):
            per_kind.setdefault(kind, {})
    tenant_lines: list[dict[str, Any]] = []
    unit_lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for kind in sorted(per_kind):
        shares = per_kind[kind]
        for line in rate(kind, sum(shares.values()), items.get(kind)):
            tenant_lines.append(line)
            split = _allocate(line["amount"], shares) if shares else {"": line["amount"]}
            qsplit = _allocate(line["quantity"], shares) if shares else {"": line["quantity"]}
            for unit in sorted(set(split) | set(qsplit)):
                unit_lines[unit].append({"kind": kind, "description": line["description"],
                                         "quantity": qsplit.get(unit, 0),
                                         "unit_price": line["unit_price"],
                                         "amount": split.get(unit, 0)})
    out = {ALL: _statement(tenant_id, month, ALL, tenant_lines, plan)}
    for unit, lines in sorted(unit_lines.items()):
        out[unit] = _statement(tenant_id, month, unit, lines, plan)
    return out


def _statement(tenant_id: str, month: str, unit: str, lines: list[dict[str, Any]],
               plan: PricePlan | None) -> dict[str, Any]:
    body = {"tenant_id": tenant_id, "month": month, "unit_ref": unit,
            "plan": plan.name if plan else None, "currency": plan.currency if plan else "CNY",
            "lines": lines, "total": sum(line["amount"] for line in lines)}
    return {**body, "sha256": hashlib.sha256(_canonical(body)).hexdigest()}


class MonthOpen(AppError):
    code, status, message = "MONTH_OPEN", 409, "a month can be closed only after it has ended"


async def _closed(tenant_id: str, month: str) -> list[Statement]:
    return await Statement.filter(tenant_id=tenant_id, month=month, closed_at__not_isnull=True) \
        .order_by("unit_ref")


def _frozen(row: Statement) -> dict[str, Any]:
    return dict(row.body)


async def statement(tenant_id: Any, month: str, unit: str | None = None) -> dict[str, Any]:
    """One statement (the tenant's, or a unit's). Of a closed month: the statement as issued
    (frozen). Else a draft computed now from the usage and the current plan, stored with its
    digest."""
    tenant_id, month = str(tenant_id), check_month(month)
    key = ALL if unit is None else unit
    closed = await _closed(tenant_id, month)
    if closed:
        for row in closed:
            if row.unit_ref == key:
                return _frozen(row)
        raise NotFound(f"no usage of unit {unit} in {month}", code="STATEMENT_NOT_FOUND")
    every = await statements(tenant_id, month)
    if key not in every:
        raise NotFound(f"no usage of unit {unit} in {month}", code="STATEMENT_NOT_FOUND")
    body = every[key]
    now = dt.datetime.now(dt.timezone.utc)
    await Statement.update_or_create(
        tenant_id=tenant_id, month=month, unit_ref=key, closed_at=None,
        defaults={"lines": body["lines"], "total": body["total"], "generated_at": now,
                  "sha256": body["sha256"], "csv_sha256": csv_digest(body)})
    return {**body, "generated_at": now.isoformat(), "closed": False}


def csv_digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(to_csv(body).encode()).hexdigest()


async def close_month(tenant_id: Any, month: str) -> dict[str, Any]:
    """Issue the month's statements [结账]: the tenant's and each unit's are rated now and
    stored frozen (JSON body, SHA-256 of the canonical JSON and of the CSV, plan snapshot); a
    later plan change does not alter them. Closing again returns what was issued
    (idempotent). Only a month that has ended (Beijing time) can be closed."""
    tenant_id, month = str(tenant_id), check_month(month)
    if month >= current_month():
        raise MonthOpen(details={"month": month, "current": current_month()})
    closed = await _closed(tenant_id, month)
    if not closed:
        every = await statements(tenant_id, month)
        plan = await PricePlan.get_or_none(tenant_id=tenant_id)
        events, quantity = await _event_totals(tenant_id, month)
        now = dt.datetime.now(dt.timezone.utc)
        try:
            async with in_transaction("default"):
                await Statement.filter(tenant_id=tenant_id, month=month,
                                       closed_at__isnull=True).delete()
                for key, body in every.items():
                    frozen = {**body, "generated_at": now.isoformat(), "closed": True,
                              "closed_at": now.isoformat(), "csv_sha256": csv_digest(body)}
                    if key == ALL:
                        frozen["plan_items"] = plan.items if plan else {}
                        frozen["usage_events"] = {"events": events, "quantity": quantity}
                    await Statement.create(
                        tenant_id=tenant_id, month=month, unit_ref=key, lines=body["lines"],
                        total=body["total"], generated_at=now, sha256=body["sha256"],
                        closed_at=now, body=frozen, csv_sha256=frozen["csv_sha256"])
        except IntegrityError:  # closed concurrently: what the other call issued counts
            pass
        closed = await _closed(tenant_id, month)
        already = False
    else:
        already = True
    bodies = [_frozen(row) for row in closed]
    whole = next(b for b in bodies if b["unit_ref"] == ALL)
    return {"tenant_id": tenant_id, "month": month, "closed_at": whole["closed_at"],
            "already_closed": already, "total": whole["total"], "sha256": whole["sha256"],
            "csv_sha256": whole["csv_sha256"], "usage_events": whole.get("usage_events"),
            "statements": [{"unit_ref": b["unit_ref"], "total": b["total"],
                            "sha256": b["sha256"], "csv_sha256": b["csv_sha256"]}
                           for b in bodies]}


async def _event_totals(tenant_id: str, month: str) -> tuple[int, int]:
    rows = await UsageEvent.filter(tenant_id=tenant_id, month=month).values_list("quantity",
                                                                                 flat=True)
    return len(rows), sum(rows)


def to_csv(body: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in body["lines"]:
        writer.writerow((body["month"], body["unit_ref"], line["kind"], line["description"],
                         line["quantity"], line["unit_price"], line["amount"]))
    writer.writerow((body["month"], body["unit_ref"], "TOTAL", "", "", "", body["total"]))
    return out.getvalue()


async def clearing(tenant_id: Any | None, month: str) -> dict[str, Any]:
    """Per provider and kind: quantity and cost at the provider's cost price (fen)."""
    query = UsageEvent.filter(month=check_month(month)).exclude(provider="")
    if tenant_id is not None:
        query = query.filter(tenant_id=str(tenant_id))
    rows = await query.values_list("provider", "kind", "quantity")
    costs = {p: dict(k) for p, k in PROVIDER_COSTS.items()}
    if tenant_id is not None:
        plan = await PricePlan.get_or_none(tenant_id=str(tenant_id))
        for provider, kinds in (plan.provider_costs if plan else {}).items():
            costs.setdefault(provider, {}).update({k: int(v) for k, v in kinds.items()})
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for provider, kind, quantity in rows:
        counts[(provider, kind)] += quantity
    providers: dict[str, dict[str, Any]] = {}
    for (provider, kind), quantity in sorted(counts.items()):
        price = int(costs.get(provider, {}).get(kind, 0))
        entry = providers.setdefault(provider, {"provider": provider, "lines": [], "total": 0})
        entry["lines"].append({"kind": kind, "quantity": quantity, "unit_cost": price,
                               "cost": quantity * price})
        entry["total"] += quantity * price
    listed = list(providers.values())
    return {"month": month, "tenant_id": str(tenant_id) if tenant_id else None,
            "providers": listed, "total": sum(p["total"] for p in listed)}


async def billed_tenants(month: str) -> list[str]:
    """Tenants with usage in ``month`` or a price plan (packages are billed without usage)."""
    used = await UsageEvent.filter(month=check_month(month)).distinct() \
        .values_list("tenant_id", flat=True)
    planned = await PricePlan.all().values_list("tenant_id", flat=True)
    return sorted({str(t) for t in [*used, *planned]})


async def get_plan(tenant_id: Any) -> PricePlan:
    plan = await PricePlan.get_or_none(tenant_id=str(tenant_id))
    if plan is None:
        raise NotFound("no price plan", code="PLAN_NOT_FOUND")
    return plan


async def put_plan(tenant_id: Any, *, name: str, currency: str, items: dict[str, dict],
                   provider_costs: dict[str, dict[str, int]]) -> PricePlan:
    for kind, item in items.items():
        validate_item(kind, item)
    plan, _ = await PricePlan.update_or_create(
        tenant_id=str(tenant_id), defaults={"name": name, "currency": currency, "items": items,
                                            "provider_costs": provider_costs})
    return plan


def present_plan(plan: PricePlan) -> dict[str, Any]:
    return {"name": plan.name, "currency": plan.currency, "items": plan.items,
            "provider_costs": plan.provider_costs, "updated_at": plan.updated_at.isoformat()}


async def _main(argv: list[str]) -> int:
    """python -m backend.services.billing statement YYYY-MM --tenant ID [--unit U] [--csv]
    python -m backend.services.billing clearing YYYY-MM [--tenant ID]  (all tenants by default)
    python -m backend.services.billing close YYYY-MM [--tenant ID]  (all tenants by default)"""
    import argparse

    from backend.db import close_db, init_db
    from backend.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m backend.services.billing")
    parser.add_argument("command", choices=("statement", "clearing", "close"))
    parser.add_argument("month")
    parser.add_argument("--tenant")
    parser.add_argument("--unit")
    parser.add_argument("--csv", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "statement" and not args.tenant:
        parser.error("statement needs --tenant")
    await init_db(Settings.from_env())
    try:
        if args.command == "statement":
            body = await statement(args.tenant, args.month, args.unit)
            print(to_csv(body) if args.csv else json.dumps(body, ensure_ascii=False, indent=2))
        elif args.command == "close":
            tenants = [args.tenant] if args.tenant else await billed_tenants(args.month)
            print(json.dumps([await close_month(t, args.month) for t in tenants],
                             ensure_ascii=False, indent=2))
        else:
            print(json.dumps(await clearing(args.tenant, args.month), ensure_ascii=False,
                             indent=2))
    finally:
        await close_db()
    return 0


if __name__ == "__main__":
    import asyncio
    import sys

    sys.exit(asyncio.run(_main(sys.argv[1:])))
