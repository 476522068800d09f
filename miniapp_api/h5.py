"""H5 pages opened from an SMS or WeChat message: /s/<token> and the signer's first step."""
from __future__ import annotations

import functools
import html as htmllib
import pathlib

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, html, redirect
from sanic_ext import openapi

from backend.errors import AppError, Forbidden, NotFound
from backend.services import signing_links
from miniapp_api import session

bp = Blueprint("h5")
STATIC = pathlib.Path(__file__).resolve().parent / "static"
#: The signing page's assets (no build step): name -> content type.
ASSETS = {"h5_sign.js": "text/javascript; charset=utf-8", "h5_sign.css": "text/css; charset=utf-8"}
PAGE_CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
            "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'")

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
    from miniapp_api import wechat_oauth

    try:
        link = await signing_links.open_link(token)
    except AppError as exc:
        return error_page(exc)
    if wechat_oauth.wanted(request):  # inside WeChat, where configured: OAuth first
        return wechat_oauth.authorize_redirect(request, str(link.id))
    return with_session(request, str(link.id))


def error_page(exc: AppError, title: str = "链接不可用") -> HTTPResponse:
    return page(title, f"<p>{htmllib.escape(exc.message)}</p>"
                f"<p><small>{exc.code}</small></p>", status=exc.status)


def with_session(request: Request, link_id: str) -> HTTPResponse:
    """The redirect to the link's start page, with the H5 session cookie bound to that link."""
    response = redirect(f"/h5/links/{link_id}/start")
    response.add_cookie(session.COOKIE_NAME, session.issue(request.app.ctx.runtime.session_key,
                        link_id), httponly=True, samesite="Lax",
                        secure=request.scheme == "https", max_age=session.SESSION_SECONDS)
    return response


@functools.lru_cache(maxsize=8)
def _asset(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


@bp.get("/h5/links/<link_id:str>/start")
@openapi.summary("The H5 signing page of a link: identity check, document, clauses, changes, "
                 "intent, handwritten signature (the document is shown after identity)")
async def start(request: Request, link_id: str) -> HTTPResponse:
    bound = session.link_of(request.app.ctx.runtime.session_key,
                            request.cookies.get(session.COOKIE_NAME))
    if bound != link_id:
        raise SessionRequired()
    link = await signing_links.get_usable_link(link_id)
    e = htmllib.escape
    body = _asset("h5_sign.html").format(
        link_id=e(str(link.id)), name=e(link.signer_name_masked or "签署人"),
        envelope=e(link.envelope_ref), signer=e(link.signer_ref))
    return html(body, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                               "Content-Security-Policy": PAGE_CSP,
                               "X-Frame-Options": "DENY"})


@bp.get("/h5/static/<name:str>")
@openapi.exclude()
async def asset(request: Request, name: str) -> HTTPResponse:
    if name not in ASSETS:
        raise NotFound()
    return HTTPResponse(_asset(name), content_type=ASSETS[name],
                        headers={"Cache-Control": "no-cache"})
