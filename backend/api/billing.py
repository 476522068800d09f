"""/api/v1/billing: the price plan, the month's usage, statements (JSON/CSV) and clearing [计费清分].

The plan is the platform operator's to set; until the operator console has a billing page, the
tenant's HMAC-authenticated business system may PUT it (the operator runs it on the tenant's
behalf). Amounts are integer fen.
"""
from __future__ import annotations

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json, text
from sanic_ext import openapi

from backend.api.bodies import StrictBody, parse_json
from backend.api.middleware import authenticated
from backend.errors import ValidationFailed
from backend.services import billing
from backend.services.metering import current_month

bp = Blueprint("billing", url_prefix="/api/v1/billing")


class Tier(StrictBody):
    up_to: int | None = Field(None, ge=1, description="cumulative upper bound, null = open")
    price: int = Field(..., ge=0, description="fen per unit")


class Package(StrictBody):
    included: int = Field(..., ge=0)
    fee: int = Field(..., ge=0, description="monthly fee in fen")


class PlanItem(StrictBody):
    unit_price: int | None = Field(None, ge=0, description="fen per unit")
    tiers: list[Tier] | None = Field(None, max_length=20, description="marginal tiers")
    package: Package | None = None
    overdraft: bool = Field(False, description="allowed past the quota / package (overage billed)")
    quota: int | None = Field(None, ge=0, description="monthly limit when no overdraft")


class Plan(StrictBody):
    name: str = Field(..., min_length=1, max_length=100)
    currency: str = Field("CNY", pattern="^CNY$")
    items: dict[str, PlanItem] = Field(default_factory=dict,
                                       description="kind, e.g. signature.sm2 -> pricing")
    provider_costs: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="provider -> kind -> cost in fen (clearing)")


@bp.put("/plan")
@openapi.summary("Set the tenant's price plan (operator task, see the module doc)")
@openapi.body({"application/json": Plan.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def plan_put(request: Request) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, Plan)
    plan = await billing.put_plan(
        request.ctx.tenant.id, name=body.name, currency=body.currency,
        items={k: v.model_dump(exclude_none=True) for k, v in body.items.items()},
        provider_costs=body.provider_costs)
    return json(billing.present_plan(plan))


@bp.get("/plan")
@openapi.summary("The tenant's price plan")
@openapi.secured("AppSignature")
@authenticated
async def plan_get(request: Request) -> HTTPResponse:
    return json(billing.present_plan(await billing.get_plan(request.ctx.tenant.id)))


@bp.get("/usage")
@openapi.summary("Metered usage of a month (?month=YYYY-MM, default this month, Beijing time)")
@openapi.secured("AppSignature")
@authenticated
async def usage(request: Request) -> HTTPResponse:
    month = request.args.get("month") or current_month()
    return json(await billing.usage(request.ctx.tenant.id, month))


@bp.get("/statements/<month:str>")
@openapi.summary("The month's statement of the tenant, or of one unit (?unit=, empty = no unit), "
                 "as ?format=json|csv: a draft until the month is closed, then as issued")
@openapi.secured("AppSignature")
@authenticated
async def statement(request: Request, month: str) -> HTTPResponse:
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ValidationFailed("format must be json or csv", code="QUERY_INVALID")
    unit = request.get_args(keep_blank_values=True).get("unit")  # "" = usage without a unit
    body = await billing.statement(request.ctx.tenant.id, month, unit)
    if fmt == "csv":
        name = f"statement-{month}{'-' + body['unit_ref'] if body['unit_ref'] != '*' else ''}.csv"
        return text(billing.to_csv(body), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "X-Statement-SHA256": body["sha256"],
                             "X-Statement-CSV-SHA256": billing.csv_digest(body)})
    return json(body)


@bp.post("/statements/<month:str>/close")
@openapi.summary("Close an ended month: the tenant's and each unit's statements are issued and "
                 "frozen (later plan changes do not alter them); closing again returns them")
@openapi.secured("AppSignature")
@authenticated
async def close(request: Request, month: str) -> HTTPResponse:
    return json(await billing.close_month(request.ctx.tenant.id, month))


@bp.get("/clearing/<month:str>")
@openapi.summary("Clearing with the providers (SMS, identity) for the month, at cost prices")
@openapi.secured("AppSignature")
@authenticated
async def clearing(request: Request, month: str) -> HTTPResponse:
    return json(await billing.clearing(request.ctx.tenant.id, month))
