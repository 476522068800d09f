"""Message templates with declared variables, checked before anything reaches a provider.

Providers reject a message whose template variables are missing (Aliyun
``isv.TEMPLATE_MISSING_PARAMETERS``, WeChat 47003) only after a network round trip, and an extra
variable is silently dropped; both are caller bugs, so :func:`render` refuses them up front with
:class:`~notify.api.TemplateError` (not retryable).

The text here is what channels that send free text use (DingTalk, e-mail, the local demo
channel). SMS and WeChat send only the variables; the provider holds the approved text under its
own template id, mapped per deployment (``ALIYUN_SMS_TEMPLATES`` / ``WECHAT_TEMPLATES`` in
:mod:`notify.config`).
"""
from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Mapping

from notify.api import TemplateError


@dataclass(frozen=True)
class Template:
    code: str
    subject: str
    text: str
    variables: frozenset[str]

    @classmethod
    def define(cls, code: str, subject: str, text: str) -> "Template":
        """Declare a template; its variables are the ``{names}`` used in subject and text."""
        return cls(code, subject, text, frozenset(_fields(subject) | _fields(text)))


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    params: dict[str, str]
    """The checked params as strings (Aliyun accepts string values only)."""


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


SIGN_LINK = Template.define(
    "SIGN_LINK", "请签署《{doc_title}》",
    "{name}您好，请点击链接签署《{doc_title}》：{url}",
)
OTP_CODE = Template.define(
    "OTP_CODE", "签署验证码",
    "您的签署验证码为{code}，{minutes}分钟内有效，请勿泄露给他人。",
)
SIGN_COMPLETED = Template.define(
    "SIGN_COMPLETED", "《{doc_title}》已签署完成",
    "{name}您好，《{doc_title}》已签署完成，签署后的文件请查收。",
)
RISK_ALERT = Template.define(
    "RISK_ALERT", "印章风险预警：{seal}",
    "印章风险预警（{severity}）：{seal}，{rule}：{message}",
)
BUILTIN: tuple[Template, ...] = (SIGN_LINK, OTP_CODE, SIGN_COMPLETED, RISK_ALERT)


class TemplateRegistry:
    """The templates a deployment knows; starts with the built-ins."""

    def __init__(self, templates: tuple[Template, ...] = BUILTIN) -> None:
        self._templates = {t.code: t for t in templates}

    def register(self, template: Template) -> None:
        self._templates[template.code] = template

    def get(self, code: str) -> Template:
        try:
            return self._templates[code]
        except KeyError:
            raise TemplateError(f"unknown template {code!r}") from None

    def check(self, code: str, params: Mapping[str, object]) -> dict[str, str]:
        """Every declared variable present and non-empty, no undeclared one; values as str."""
        template = self.get(code)
        missing = sorted(template.variables - params.keys())
        unknown = sorted(params.keys() - template.variables)
        if missing or unknown:
            raise TemplateError(f"template {code}: missing {missing}, unknown {unknown}")
        values = {k: str(v) for k, v in params.items()}
        empty = sorted(k for k, v in values.items() if not v.strip())
        if empty:
            raise TemplateError(f"template {code}: empty values for {empty}")
        return values

    def render(self, code: str, params: Mapping[str, object]) -> Rendered:
        values = self.check(code, params)
        template = self.get(code)
        return Rendered(template.subject.format(**values), template.text.format(**values), values)


DEFAULT_REGISTRY = TemplateRegistry()


def render(template_code: str, params: Mapping[str, object]) -> Rendered:
    """Render a built-in (or registered) template; raises TemplateError on a variable mismatch."""
    return DEFAULT_REGISTRY.render(template_code, params)


def parse_mapping(spec: str) -> dict[str, str]:
    """``"SIGN_LINK=SMS_1001,OTP_CODE=SMS_1002"`` -> dict; the settings form of a mapping."""
    mapping: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        code, sep, provider_id = item.partition("=")
        if not sep or not code.strip() or not provider_id.strip():
            raise ValueError(f"bad template mapping item {item!r} (want CODE=PROVIDER_ID)")
        mapping[code.strip()] = provider_id.strip()
    return mapping
