"""Statistics centre [统计中心] for people and spreadsheets.

* ``GET /admin/statistics``: an HTML page (no build step, no script) whose charts are SVG drawn
  here on the server from ``backend.services.statistics.compute``: the trend over time (line
  chart), bars by unit and by seal, the totals and the average time to complete. Filters
  ``period`` (day | week | month), ``since``, ``until``, ``unit`` as in the JSON API.
* ``GET /admin/statistics.csv?table=series|units|seals|templates``: the same as CSV.
* ``GET /api/v1/admin/statistics/export?format=csv`` (bearer session, security or system
  administrator, in the admin route table) and ``GET /api/v1/statistics/export?format=csv``
  (HMAC-signed business systems): CSV exports of the statistics.

Browser sign-in: the pages take the admin session token once, as ``?token=ses_...`` (e.g. the
link the SSO front end opens after login), check it, set it as an HttpOnly, SameSite=Strict
cookie limited to ``/admin`` (Secure over HTTPS) that expires with the session, and redirect to
the same page without the token, so it stays out of the address bar, history and Referer. Later
loads use the cookie (an ``Authorization: Bearer`` header works too). Revoking the session
(logout, an administrator, the user disabled) ends the page access at once. The page needs the
security or system administrator role, like ``/api/v1/admin/statistics``.
"""
from __future__ import annotations

import datetime as dt
import html
import math
from typing import Any
from urllib.parse import urlencode

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, html as html_response, redirect, text
from sanic_ext import openapi

from backend import audit
from backend.api import admin
from backend.api.middleware import authenticated
from backend.errors import AppError, ValidationFailed
from backend.services import admin_sessions, statistics

bp = Blueprint("admin_pages")
COOKIE = "esign_admin"
PAGE_ROLES = ("security", "system")
FILTERS = ("period", "since", "until", "unit")


# ---- CSV exports -----------------------------------------------------------------------------
def _csv_response(stats: dict[str, Any], args: Any) -> HTTPResponse:
    fmt = args.get("format", "csv")
    if fmt != "csv":
        raise ValidationFailed("format must be csv", code="QUERY_INVALID")
    table = args.get("table", "series")
    content = statistics.to_csv(stats, table)
    return text(content, content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="statistics-{table}.csv"'})


@admin.route("GET", "/statistics/export", "security", "system",
             summary="Statistics as CSV (format=csv, table=series|units|seals|templates, "
                     "since, until, period, unit)")
async def admin_stats_export(request: Request) -> HTTPResponse:
    q = statistics.build_query(str(request.ctx.user.tenant_id), request.args)
    return _csv_response(await statistics.compute(q), request.args)


@bp.get("/api/v1/statistics/export")
@openapi.summary("Statistics as CSV (format=csv, table=series|units|seals|templates, since, "
                 "until, period, unit)")
@openapi.secured("AppSignature")
@authenticated
async def stats_export(request: Request) -> HTTPResponse:
    q = statistics.build_query(str(request.ctx.tenant.id), request.args)
    return _csv_response(await statistics.compute(q), request.args)


# ---- browser session ---------------------------------------------------------------------
class _PageDenied(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(title)
        self.status, self.title, self.detail = status, title, detail


async def _page_user(request: Request, token: str | None):
    header = request.headers.get("Authorization", "")
    scheme, _, bearer = header.partition(" ")
    token = token or (bearer.strip() if scheme.lower() == "bearer" else "") \
        or request.cookies.get(COOKIE, "")
    if not token:
        raise _PageDenied(401, "请先登录", "请通过单点登录进入管理控制台后再打开本页面。")
    try:
        session, user = await admin_sessions.authenticate_token(token)
    except AppError:
        raise _PageDenied(401, "登录已失效", "会话不存在、已过期或已被注销，请重新登录。") from None
    role = await admin_sessions.role_of(user.id)
    ctx = audit.current_context.get()
    audit.current_context.set(audit.AuditContext(
        actor=f"user:{user.id}", tenant_id=str(user.tenant_id), ip=ctx.ip,
        user_agent=ctx.user_agent, request_id=ctx.request_id))
    if role not in PAGE_ROLES:
        await audit.record("admin.access_denied", f"{request.method} {request.path}"[:200],
                           result="refused", details={"role": role, "needs": list(PAGE_ROLES)})
        raise _PageDenied(403, "无权查看", "统计中心需要安全管理员或系统管理员角色。")
    return session, user, role, token


def _denied(exc: _PageDenied) -> HTTPResponse:
    body = (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
            f"<title>{exc.title}</title><style>{CSS}</style></head><body><main>"
            f"<h1>{html.escape(exc.title)}</h1><p>{html.escape(exc.detail)}</p></main></body></html>")
    response = html_response(body, status=exc.status)
    if exc.status == 401:
        response.delete_cookie(COOKIE, path="/admin")
    return response


def _filters(request: Request) -> dict[str, str]:
    return {k: request.args.get(k) for k in FILTERS if request.args.get(k)}


async def _signed_in(request: Request, path: str):
    """(user, None) when signed in; (None, response) for a redirect or a refusal."""
    token = request.args.get("token")
    try:
        session, user, role, _ = await _page_user(request, token)
    except _PageDenied as exc:
        return None, _denied(exc)
    if token:  # move the token into the cookie and out of the address bar
        query = urlencode({**_filters(request),
                           **({"table": request.args["table"]} if "table" in request.args else {})})
        response = redirect(path + (f"?{query}" if query else ""), status=303)
        left = int((session.expires_at - dt.datetime.now(dt.timezone.utc)).total_seconds())
        response.add_cookie(COOKIE, token, path="/admin", httponly=True, samesite="Strict",
                            secure=request.scheme == "https", max_age=max(left, 1))
        return None, response
    return user, None


@bp.get("/admin/statistics.csv")
@openapi.exclude()
async def page_csv(request: Request) -> HTTPResponse:
    user, response = await _signed_in(request, "/admin/statistics.csv")
    if response is not None:
        return response
    q = statistics.build_query(str(user.tenant_id), request.args)
    return _csv_response(await statistics.compute(q), request.args)


@bp.get("/admin/statistics")
@openapi.exclude()
async def page(request: Request) -> HTTPResponse:
    user, response = await _signed_in(request, "/admin/statistics")
    if response is not None:
        return response
    tenant_id = str(user.tenant_id)
    try:
        q = statistics.build_query(tenant_id, request.args)
        stats = await statistics.compute(q)
    except AppError as exc:
        return _denied(_PageDenied(exc.status, "查询条件有误", exc.message))
    units = await statistics._units(tenant_id)
    return html_response(render(stats, units, _filters(request), user.name))


# ---- rendering -------------------------------------------------------------------------------
PERIOD_NAMES = {"day": "按日", "week": "按周", "month": "按月"}
TREND = (("seal_uses", "用印次数", "#c0392b"), ("files", "文件数", "#2471a3"),
         ("signings", "签署完成", "#1e8449"), ("seal_uses_refused", "拒绝用印", "#b9770e"))
DASHES = {"files": "7 4"}  # files and seal uses often run together: files dashed, drawn first
CSS = """
body{font-family:"WenQuanYi Zen Hei","Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;
margin:0;background:#f4f6f8;color:#1c2833}
header{background:#7b241c;color:#fff;padding:14px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;font-size:13px;opacity:.85}
main{max-width:1180px;margin:0 auto;padding:18px 24px}
form{display:flex;gap:12px;align-items:end;flex-wrap:wrap;background:#fff;padding:12px 16px;
border-radius:8px;box-shadow:0 1px 3px #0002}
label{font-size:13px;display:flex;flex-direction:column;gap:4px}
input,select,button{font:inherit;font-size:14px;padding:4px 8px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin:16px 0}
.card{background:#fff;border-radius:8px;padding:12px 16px;box-shadow:0 1px 3px #0002}
.card .v{font-size:26px;font-weight:bold;margin-top:4px}.card .k{font-size:13px;color:#566573}
section{background:#fff;border-radius:8px;padding:12px 16px;margin:16px 0;box-shadow:0 1px 3px #0002}
section h2{font-size:17px;margin:4px 0 8px}.row{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.row section{margin:0}svg text{font-family:inherit}.empty{color:#808b96;padding:30px;text-align:center}
a{color:#1f618d}.links{font-size:13px}
"""


def fmt(n: float | int | None) -> str:
    if n is None:
        return "—"
    n = float(n)
    if abs(n) >= 1e8:
        return f"{n / 1e8:.2f}亿".replace(".00亿", "亿")
    if abs(n) >= 1e4:
        return f"{n / 1e4:.1f}万".replace(".0万", "万")
    return f"{int(n):,}" if n == int(n) else f"{n:.1f}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} 小时"
    if seconds >= 60:
        return f"{seconds / 60:.0f} 分钟"
    return f"{seconds:.0f} 秒"


def nice_max(value: float) -> float:
    if value <= 0:
        return 1
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def line_chart(rows: list[dict[str, Any]], width: int = 1120, height: int = 320) -> str:
    if not rows:
        return "<div class='empty'>所选时间内没有数据</div>"
    left, right, top, bottom = 70, 20, 20, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = nice_max(max(r.get(k) or 0 for r in rows for k, _, _ in TREND))
    n = len(rows)

    def x(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else i * plot_w / (n - 1))

    def y(v: float) -> float:
        return top + plot_h - (v / top_value) * plot_h

    parts = [f"<svg id='trend-chart' role='img' aria-label='趋势' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' xmlns='http://www.w3.org/2000/svg'>"]
    for i in range(5):
        v = top_value * i / 4
        parts.append(f"<line x1='{left}' x2='{width - right}' y1='{y(v):.1f}' y2='{y(v):.1f}' "
                     f"stroke='#d5d8dc' stroke-width='1'/>"
                     f"<text x='{left - 8}' y='{y(v) + 4:.1f}' text-anchor='end' font-size='12' "
                     f"fill='#566573'>{fmt(v)}</text>")
    every = max(1, math.ceil(n / 14))
    for i, row in enumerate(rows):
        if i % every == 0 or i == n - 1:
            anchor = "end" if i == n - 1 and n > 1 else "start" if i == 0 and n > 1 \
                else "middle"
            parts.append(f"<text class='x-label' x='{x(i):.1f}' y='{top + plot_h + 18}' "
                         f"text-anchor='{anchor}' font-size='12' fill='#566573'>"
                         f"{html.escape(row['period'])}</text>")
    for key, label, color in sorted(TREND, key=lambda t: t[0] != "files"):
        points = " ".join(f"{x(i):.1f},{y(r.get(key) or 0):.1f}" for i, r in enumerate(rows))
        dash = f" stroke-dasharray='{DASHES[key]}'" if key in DASHES else ""
        parts.append(f"<polyline class='series' data-metric='{key}' points='{points}' fill='none' "
                     f"stroke='{color}' stroke-width='2.5'{dash}/>")
        if n <= 62:
            for i, r in enumerate(rows):
                parts.append(f"<circle cx='{x(i):.1f}' cy='{y(r.get(key) or 0):.1f}' r='3.5' "
                             f"fill='{color}' data-metric='{key}' data-period='{r['period']}' "
                             f"data-value='{r.get(key) or 0}'><title>{label} {r['period']}: "
                             f"{fmt(r.get(key))}</title></circle>")
    lx = left
    for key, label, color in TREND:
        parts.append(f"<rect x='{lx}' y='{height - 22}' width='14' height='14' fill='{color}'/>"
                     f"<text class='legend' x='{lx + 20}' y='{height - 10}' font-size='14'>"
                     f"{label}</text>")
        lx += 130
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(chart_id: str, items: list[tuple[str, list[tuple[str, int, str]]]],
              width: int = 540) -> str:
    """Horizontal bars: one group per label, one bar per (metric label, value, colour)."""
    if not items:
        return "<div class='empty'>所选时间内没有数据</div>"
    per = len(items[0][1])
    bar_h, gap, left, right = 16, 12, 150, 70
    group_h = per * bar_h + gap
    height = 20 + len(items) * group_h + 26
    top_value = nice_max(max(v for _, bars in items for _, v, _ in bars))
    plot_w = width - left - right
    parts = [f"<svg id='{chart_id}' role='img' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' xmlns='http://www.w3.org/2000/svg'>"]
    for gi, (label, bars) in enumerate(items):
        y0 = 10 + gi * group_h
        short = label if len(label) <= 11 else label[:10] + "…"
        parts.append(f"<text class='bar-label' x='{left - 8}' y='{y0 + per * bar_h / 2 + 5:.1f}' "
                     f"text-anchor='end' font-size='13' data-full='{html.escape(label)}'>"
                     f"{html.escape(short)}</text>")
        for bi, (metric, value, color) in enumerate(bars):
            w = max(1.0, plot_w * value / top_value) if value else 0
            yb = y0 + bi * bar_h
            parts.append(f"<rect class='bar' x='{left}' y='{yb}' width='{w:.1f}' "
                         f"height='{bar_h - 3}' fill='{color}' data-label='{html.escape(label)}' "
                         f"data-metric='{metric}' data-value='{value}'><title>"
                         f"{html.escape(label)} {metric}: {value:,}</title></rect>"
                         f"<text x='{left + w + 6:.1f}' y='{yb + bar_h - 5}' font-size='12' "
                         f"fill='#283747'>{fmt(value)}</text>")
    legend_y = height - 12
    lx = left
    for metric, _, color in items[0][1]:
        parts.append(f"<rect x='{lx}' y='{legend_y - 11}' width='12' height='12' fill='{color}'/>"
                     f"<text class='legend' x='{lx + 18}' y='{legend_y}' font-size='13'>{metric}"
                     f"</text>")
        lx += 110
    parts.append("</svg>")
    return "".join(parts)


def render(stats: dict[str, Any], units: dict[str, dict[str, Any]], filters: dict[str, str],
           who: str, top: int = 12) -> str:
    t = stats["totals"]
    cards = [("用印次数", fmt(t["seal_uses"])), ("拒绝用印", fmt(t["seal_uses_refused"])),
             ("文件数", fmt(t["files"])), ("签署完成", fmt(t["signings"])),
             ("平均完成时长", duration(t.get("avg_completion_seconds"))),
             ("消息", fmt(t.get("messages"))), ("身份核验", fmt(t.get("identity_checks")))]
    unit_items = [(u["name"], [("文件数", u["files"], "#2471a3"),
                               ("用印次数", u["seal_uses"], "#c0392b")])
                  for u in stats["by_unit"][:top] if u["files"] or u["seal_uses"]]
    seal_items = [(s["name"], [("用印次数", s["seal_uses"], "#c0392b"),
                               ("拒绝用印", s["seal_uses_refused"], "#b9770e")])
                  for s in stats["by_seal"][:top]]
    period = stats["period"]
    options = "".join(f"<option value='{k}'{' selected' if k == period else ''}>{v}</option>"
                      for k, v in PERIOD_NAMES.items())
    unit_options = "<option value=''>全部单位</option>" + "".join(
        f"<option value='{uid}'{' selected' if uid == stats['unit_id'] else ''}>"
        f"{html.escape(u['name'])}</option>"
        for uid, u in sorted(units.items(), key=lambda kv: (kv[1]["kind"] != "hq", kv[1]["name"])))
    since = stats["since"][:10]
    until = stats["until"][:10]
    csv_query = urlencode(filters)
    csv_links = " · ".join(
        f"<a href='/admin/statistics.csv?{csv_query}{'&' if csv_query else ''}table={tbl}'>{name}</a>"
        for tbl, name in (("series", "趋势"), ("units", "单位"), ("seals", "印章"),
                          ("templates", "模板")))
    scope = "全部单位" if not stats["unit_id"] else html.escape(
        units.get(stats["unit_id"], {}).get("name", stats["unit_id"])) + "（含下级单位）"
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>统计中心</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>
<body><header><h1>统计中心</h1><p>{scope} · {since} 至 {until}（北京时间）· {PERIOD_NAMES[period]} ·
当前用户 {html.escape(who)}</p></header><main>
<form method="get" action="/admin/statistics">
<label>统计周期<select name="period">{options}</select></label>
<label>开始日期<input type="date" name="since" value="{html.escape(filters.get('since', '')[:10])}"></label>
<label>结束日期<input type="date" name="until" value="{html.escape(filters.get('until', '')[:10])}"></label>
<label>单位<select name="unit">{unit_options}</select></label>
<button type="submit">查询</button>
<span class="links">导出 CSV：{csv_links}</span></form>
<div class="cards" id="totals">{''.join(f"<div class='card'><div class='k'>{k}</div><div class='v'>{v}</div></div>" for k, v in cards)}</div>
<section><h2>趋势（{PERIOD_NAMES[period]}）</h2>{line_chart(stats['series'])}</section>
<div class="row"><section><h2>各单位文件数与用印次数（前 {top} 名）</h2>
{bar_chart('unit-chart', unit_items)}</section>
<section><h2>印章用印次数（前 {top} 名）</h2>{bar_chart('seal-chart', seal_items)}</section></div>
</main></body></html>"""
