"""Public verification page opened from a print copy's QR code [防伪打印]: ``GET /v/<code>``
(HTML; ``?format=json`` for machines). No login; names masked; live status."""
from __future__ import annotations

import html as htmllib

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from backend.api.middleware import client_ip
from backend.errors import AppError, TooManyRequests
from backend.services import public_verification
from miniapp_api.h5 import page

bp = Blueprint("verify_page")
LOOKUPS_PER_MINUTE = 60  # per client address: short codes must not be enumerable


class TooManyLookups(TooManyRequests):
    code, message = "VERIFY_RATE_LIMITED", "too many verification requests; retry in a minute"


def _render(info: dict) -> str:
    e = htmllib.escape
    colour = "#0a7d32" if info["valid"] else "#b00020"
    rows = "".join(f"<li>{e(s['role'])}：{e(s['name'])}</li>" for s in info["signers"]) \
        or "<li>—</li>"
    sigs = "".join(
        f"<li>{e(s['signer'] or '-')} · {e(s['algorithm'] or '')} · {e(s['signing_time'] or '')}"
        f" · {'签名有效' if s['valid'] else ('签名完整' if s['intact'] else '签名无效')}</li>"
        for s in info["signatures"]) or "<li>无数字签名</li>"
    voided = f"<p>作废/替代时间：{e(info['voided_at'])}</p>" if info["voided_at"] else ""
    return (f"<p data-status='{e(info['status'])}' style='font-size:1.2em;color:{colour}'>"
            f"<b>文件状态：{e(info['status_text'])}</b></p>{voided}"
            f"<p>文件：{e(info['title'])}</p>"
            f"<p>核验码：<code>{e(info['code'])}</code></p>"
            f"<p>SHA-256：<code style='word-break:break-all'>{e(info['sha256'])}</code></p>"
            f"<p>SM3：<code style='word-break:break-all'>{e(info['sm3'])}</code></p>"
            f"<h3>签署人</h3><ul>{rows}</ul><h3>数字签名</h3><ul>{sigs}</ul>"
            "<p><small>请核对打印件与本页信息是否一致；本页不显示个人完整信息。</small></p>")


@bp.get("/v/<code:str>")
@openapi.summary("Public verification page of a print copy's QR code (?format=json)")
async def verify_code(request: Request, code: str) -> HTTPResponse:
    wants_json = request.args.get("format") == "json"
    runtime = request.app.ctx.runtime
    try:
        if await runtime.cache.hit_rate_limit(f"verify:{client_ip(request)}",
                                              LOOKUPS_PER_MINUTE, 60):
            raise TooManyLookups()
        info = await public_verification.lookup(runtime, code)
    except AppError as exc:
        if wants_json:
            raise
        return page("文件核验", f"<p>{htmllib.escape(exc.message)}</p>"
                    f"<p><small>{exc.code}</small></p>", status=exc.status)
    if wants_json:
        return json(info, headers={"Cache-Control": "no-store"})
    return page("文件核验", _render(info))
