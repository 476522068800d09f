"""Template variable checks and rendering."""
from __future__ import annotations

import pytest

from notify.api import TemplateError
from notify.templates import (
    BUILTIN, DEFAULT_REGISTRY, OTP_CODE, SIGN_LINK, Template, TemplateRegistry, parse_mapping,
    render,
)


def test_builtins_declare_their_variables():
    assert SIGN_LINK.variables == {"name", "doc_title", "url"}
    assert OTP_CODE.variables == {"code", "minutes"}
    assert {t.code for t in BUILTIN} == {"SIGN_LINK", "OTP_CODE", "SIGN_COMPLETED", "RISK_ALERT"}


def test_render_sign_link():
    out = render("SIGN_LINK", {"name": "张三", "doc_title": "投保单", "url": "https://x/s/1"})
    assert out.subject == "请签署《投保单》"
    assert out.text == "张三您好，请点击链接签署《投保单》：https://x/s/1"


def test_values_become_strings():
    assert render("OTP_CODE", {"code": 123456, "minutes": 5}).params == {"code": "123456",
                                                                        "minutes": "5"}


@pytest.mark.parametrize("params, words", [
    ({"code": "1"}, "missing ['minutes']"),
    ({"code": "1", "minutes": "5", "extra": "x"}, "unknown ['extra']"),
    ({"code": " ", "minutes": "5"}, "empty values for ['code']"),
])
def test_variable_mismatch_is_template_error(params, words):
    with pytest.raises(TemplateError, match=words.replace("[", r"\[").replace("]", r"\]")) as info:
        render("OTP_CODE", params)
    assert info.value.code == "TEMPLATE_ERROR" and not info.value.retryable


def test_unknown_template():
    with pytest.raises(TemplateError, match="unknown template"):
        render("NOPE", {})


def test_custom_registry_does_not_touch_default():
    registry = TemplateRegistry()
    registry.register(Template.define("REMIND", "提醒", "{name}，请尽快签署"))
    assert registry.render("REMIND", {"name": "李四"}).text == "李四，请尽快签署"
    with pytest.raises(TemplateError):
        DEFAULT_REGISTRY.get("REMIND")


def test_braces_in_values_are_not_reformatted():
    out = render("SIGN_COMPLETED", {"name": "{url}", "doc_title": "a{b}c"})
    assert out.text.startswith("{url}您好，《a{b}c》")


def test_parse_mapping():
    assert parse_mapping(" SIGN_LINK=SMS_1 , OTP_CODE=SMS_2,") == {"SIGN_LINK": "SMS_1",
                                                                   "OTP_CODE": "SMS_2"}
    assert parse_mapping("") == {}
    with pytest.raises(ValueError):
        parse_mapping("SIGN_LINK")
