"""Entry points people touch: H5 pages (SMS/WeChat links), WeChat mini-program, DingTalk mini-app."""
from __future__ import annotations

from sanic import Sanic


def register(app: Sanic) -> None:
    from miniapp_api import demo, h5, h5_api, mobile_api, mp_api, wechat_oauth

    app.blueprint(h5.bp)
    app.blueprint(wechat_oauth.bp)
    app.blueprint(h5_api.bp)
    app.blueprint(mobile_api.bp)
    app.blueprint(mp_api.bp)
    app.blueprint(demo.bp)


_register_h5 = register


def register(app: Sanic) -> None:  # noqa: F811 - the verification page of print copies
    from miniapp_api import verify_page

    _register_h5(app)
    app.blueprint(verify_page.bp)
