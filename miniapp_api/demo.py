"""Demo pages (not in production): messages the local channel "sent" [演示].

In the zero-setup mode (no REDIS_URL) jobs run inside the server, so every SMS, WeChat, DingTalk
or e-mail message of the demo appears here instead of reaching a provider.
"""
from __future__ import annotations

import html as htmllib

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, html
from sanic_ext import openapi

from backend.errors import NotFound

bp = Blueprint("demo", url_prefix="/demo")


@bp.get("/messages")
@openapi.exclude()
async def messages(request: Request) -> HTTPResponse:
    runtime = request.app.ctx.runtime
    if runtime.settings.env == "production":
        raise NotFound()
    rows = "".join(
        f"<tr><td>{m.sent_at:%H:%M:%S}</td><td>{m.channel}</td><td>{htmllib.escape(m.recipient)}</td>"
        f"<td>{htmllib.escape(m.subject)}</td><td>{htmllib.escape(m.text)}</td>"
        f"<td>{htmllib.escape(', '.join(m.attachments))}</td></tr>"
        for m in runtime.channel("local").recent(100))
    return html(
        "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=5>"
        "<title>演示消息 Demo messages</title><h2>演示消息（本地通道）</h2>"
        "<table border=1 cellpadding=4><tr><th>时间</th><th>通道</th><th>接收人</th><th>标题</th>"
        f"<th>内容</th><th>附件</th></tr>{rows or '<tr><td colspan=6>暂无</td></tr>'}</table>")
