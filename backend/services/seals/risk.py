"""Risk rules on seal use [风险预警]: each rule looks at one use and may raise an alert.

Rules: use outside working hours; unusual volume per hour; first use from a new device or a new
region; use close to the grant's expiry; any attempt with a suspended or revoked seal. Alerts
are stored (open → acknowledged → resolved, with a note) and, when ``RISK_ALERT_NOTIFY`` names a
channel and recipient, sent through notify/.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from backend import audit
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.ids import parse_uuid
from backend.models.seal import RiskAlert, Seal, SealGrant, SealUse
from backend.models.tenant import Tenant

CHINA = ZoneInfo("Asia/Shanghai")


@dataclasses.dataclass(frozen=True)
class RiskSettings:
    work_start_hour: int = 8
    work_end_hour: int = 20
    max_uses_per_hour: int = 200
    grant_expiry_warning: dt.timedelta = dt.timedelta(days=3)
    #: "channel:recipient" (e.g. "dingtalk:manager01"); empty = alerts are only stored.
    notify: str = ""


@dataclasses.dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    message: str


async def evaluate(tenant: Tenant, seal: Seal, use: SealUse, grant: SealGrant | None,
                   settings: RiskSettings, count: int = 1) -> list[RiskAlert]:
    """The rules on ``use``; ``count`` > 1: the first of that many uses made together (a bulk
    issuance is judged once: its time, device, region, and whether it crosses the volume)."""
    findings = [f for f in await _findings(seal, use, grant, settings, count) if f]
    alerts = []
    for finding in findings:
        alerts.append(await RiskAlert.create(
            tenant=tenant, seal=seal, use=use, rule=finding.rule, severity=finding.severity,
            message=finding.message))
        await audit.record("seal.risk_alert", f"seal:{seal.id}", result=finding.severity,
                           details={"rule": finding.rule, "use": use.id})
    return alerts


async def _findings(seal: Seal, use: SealUse, grant: SealGrant | None,
                    settings: RiskSettings, count: int = 1) -> list[Finding | None]:
    if use.result == "refused":
        if seal.status in ("suspended", "revoked"):
            return [Finding("disabled_seal_attempt", "high",
                            f"attempt to use a {seal.status} seal")]
        return []
    return [
        _after_hours(use, settings),
        await _volume(seal, use, settings, count),
        await _new_value(seal, use, "device", "new_device", "low"),
        await _new_value(seal, use, "region", "new_region", "medium"),
        _near_expiry(use, grant, settings),
    ]


def _after_hours(use: SealUse, settings: RiskSettings) -> Finding | None:
    local = use.created_at.astimezone(CHINA)
    if local.weekday() >= 5 or not (settings.work_start_hour <= local.hour < settings.work_end_hour):
        return Finding("after_hours", "medium", f"used at {local:%Y-%m-%d %H:%M} (Beijing time)")
    return None


async def _volume(seal: Seal, use: SealUse, settings: RiskSettings,
                  added: int = 1) -> Finding | None:
    since = use.created_at - dt.timedelta(hours=1)
    count = await SealUse.filter(seal_id=seal.id, result="allowed", created_at__gte=since).count()
    if count - added <= settings.max_uses_per_hour < count:  # once, when the uses cross it
        return Finding("volume", "high", f"more than {settings.max_uses_per_hour} uses in an hour")
    return None


async def _new_value(seal: Seal, use: SealUse, field: str, rule: str, severity: str) -> Finding | None:
    value = getattr(use, field)
    if not value:
        return None
    seen = await SealUse.filter(seal_id=seal.id, result="allowed", id__lt=use.id,
                                **{field: value}).exists()
    before = await SealUse.filter(seal_id=seal.id, result="allowed", id__lt=use.id).exists()
    if before and not seen:
        return Finding(rule, severity, f"first use from {field} {value!r}")
    return None


def _near_expiry(use: SealUse, grant: SealGrant | None, settings: RiskSettings) -> Finding | None:
    if grant and grant.valid_until - use.created_at < settings.grant_expiry_warning:
        return Finding("grant_near_expiry", "low",
                       f"grant expires {grant.valid_until:%Y-%m-%d %H:%M} UTC")
    return None


async def notify(tenant: Tenant, runtime, seal: Seal, alerts: list[RiskAlert],
                 settings: RiskSettings) -> None:
    """Queue one message per medium/high alert to RISK_ALERT_NOTIFY ('channel:recipient')."""
    if not settings.notify or ":" not in settings.notify:
        return
    from backend.services.messages import queue_message

    channel, recipient = settings.notify.split(":", 1)
    for alert in alerts:
        if alert.severity in ("medium", "high"):
            await queue_message(tenant, runtime, channel=channel, recipient=recipient,
                                template="RISK_ALERT", idempotency_key=f"alert:{alert.id}",
                                params={"seal": seal.name, "severity": alert.severity,
                                        "rule": alert.rule, "message": alert.message})


class AlertNotFound(NotFound):
    code, message = "ALERT_NOT_FOUND", "no such risk alert"


ALERT_TRANSITIONS = {"acknowledge": ("open", "acknowledged"),
                     "resolve": (None, "resolved")}


async def handle_alert(tenant: Tenant, alert_id: str, action: str, *, operator,
                       note: str) -> RiskAlert:
    from tortoise.transactions import in_transaction

    if action not in ALERT_TRANSITIONS:
        raise ValidationFailed("action must be acknowledge or resolve", code="ALERT_ACTION_INVALID")
    if not (2 <= len(note.strip()) <= 500):
        raise ValidationFailed("a note (2 to 500 characters) is required", code="NOTE_REQUIRED")
    required, target = ALERT_TRANSITIONS[action]
    async with in_transaction("default"):
        alert = await RiskAlert.select_for_update().get_or_none(
            id=parse_uuid(alert_id, AlertNotFound), tenant_id=tenant.id)
        if alert is None:
            raise AlertNotFound()
        operator.check_unit((await alert.seal).unit_ref)
        actor = operator.actor
        if alert.status == "resolved" or (required and alert.status != required):
            raise Conflict(f"cannot {action} a {alert.status} alert", code="ALERT_TRANSITION_INVALID")
        alert.status, alert.note, alert.handled_by = target, note.strip(), actor
        alert.handled_at = dt.datetime.now(dt.timezone.utc)
        await alert.save()
        await audit.record(f"risk_alert.{action}", f"alert:{alert.id}", actor=actor,
                           details={"note": alert.note})
    return alert


def present_alert(alert: RiskAlert) -> dict[str, Any]:
    return {"id": str(alert.id), "seal_id": str(alert.seal_id), "rule": alert.rule,
            "severity": alert.severity, "message": alert.message, "status": alert.status,
            "note": alert.note, "handled_by": alert.handled_by,
            "created_at": alert.created_at.isoformat(),
            "handled_at": alert.handled_at.isoformat() if alert.handled_at else None}
