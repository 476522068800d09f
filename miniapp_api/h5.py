"""H5 pages opened from an SMS or WeChat message: /s/<token> and the signer's first step."""
from __future__ import annotations

import html as htmllib

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, html, redirect
from sanic_ext import openapi

from backend.errors import AppError, Forbidden
from backend.services import signing_links
from miniapp_api import session

bp = Blueprint("h5")

PAGE = """<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><body style="font-family:sans-serif;max-width:32em;margin:2em auto;padding:0 1em">
<h2>{title}</h2>{body}</body></html>"""


class SessionRequired(Forbidden):
    code, message = "H5_SESSION_REQUIRED", "open the signing link from your message again"


def page(title: str, body: str, status: int = 200) -> HTTPResponse:
    return html(PAGE.format(title=htmllib.escape(title), body=body), status=status,
                headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@bp.get("/s/<token:str>")
@openapi.summary("Open a signing link: starts the signer's identity check")
async def open_link(request: Request, token: str) -> HTTPResponse:
    try:
        link = await signing_links.open_link(token)
    except AppError as exc:
        return page("链接不可用", f"<p>{htmllib.escape(exc.message)}</p>"
                    f"<p><small>{exc.code}</small></p>", status=exc.status)
    response = redirect(f"/h5/links/{link.id}/start")
    response.add_cookie(session.COOKIE_NAME, session.issue(request.app.ctx.runtime.session_key,
                        str(link.id)), httponly=True, samesite="Lax",
                        secure=request.scheme == "https", max_age=session.SESSION_SECONDS)
    return response


@bp.get("/h5/links/<link_id:str>/start")
@openapi.summary("The signer's first step: identity check (the document is not shown yet)")
async def start(request: Request, link_id: str) -> HTTPResponse:
    bound = session.link_of(request.app.ctx.runtime.session_key,
                            request.cookies.get(session.COOKIE_NAME))
    if bound != link_id:
        raise SessionRequired()
    link = await signing_links.get_usable_link(link_id)
    name = htmllib.escape(link.signer_name_masked or "签署人")
    return page("身份核验", f"<p>{name}，您好。签署前请先完成身份核验。</p>"
                f"<p data-envelope='{htmllib.escape(link.envelope_ref)}' "
                f"data-signer='{htmllib.escape(link.signer_ref)}'>核验通过后方可查看文件。</p>")
