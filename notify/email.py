"""E-mail over SMTP (stdlib ``smtplib`` in a thread), optionally STARTTLS, with attachments.

Stdlib rather than aiosmtplib: one connection per message at our volumes costs nothing, and it
keeps the dependency list short. The signed PDF rides along as an attachment when the flow asks
(``Message.attachments``).

The idempotency key becomes the ``Message-ID`` (``<key@sender-domain>``), so a duplicate that
slips past our guard (a crash between SMTP acceptance and our bookkeeping) is recognisable in the
mailbox. SMTP reply classes decide retries: 4xx is temporary (retry), 5xx on a recipient is
permanent (:class:`~notify.api.InvalidRecipient`).
"""
from __future__ import annotations

import asyncio
import re
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from notify.api import (
    Channel, ChannelError, ChannelMisconfigured, ChannelThrottled, ChannelTimeout,
    ChannelUnavailable, InvalidRecipient, Message, ResultStore, SendResult, utcnow,
)
from notify.templates import DEFAULT_REGISTRY, TemplateRegistry

_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


class SmtpEmailChannel(Channel):
    name = "email"

    def __init__(self, host: str, port: int = 587, *, sender: str,
                 username: str | None = None, password: str | None = None,
                 starttls: bool = True, timeout: float = 10.0,
                 ssl_context: ssl.SSLContext | None = None,
                 registry: TemplateRegistry = DEFAULT_REGISTRY,
                 results: ResultStore | None = None) -> None:
        super().__init__(results=results)
        self._host, self._port = host, int(port)
        self._sender = sender
        self._username, self._password = username, password
        self._starttls = starttls
        self._timeout = timeout
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._registry = registry

    async def _send(self, message: Message) -> SendResult:
        if not _ADDRESS.match(message.recipient):
            raise InvalidRecipient(f"not an e-mail address: {message.recipient!r}")
        mail = self.build(message)
        try:
            refused = await asyncio.wait_for(asyncio.to_thread(self._deliver, mail),
                                             self._timeout * 3 + 2)
        except (socket.timeout, TimeoutError, asyncio.TimeoutError) as exc:
            raise ChannelTimeout(f"smtp {self._host}:{self._port}: timed out ({exc})") from None
        except smtplib.SMTPException as exc:
            raise error_for(exc) from exc
        except OSError as exc:
            raise ChannelUnavailable(f"smtp {self._host}:{self._port}: {exc}") from None
        return SendResult(mail["Message-ID"], utcnow(), {"refused": _jsonable(refused)})

    def build(self, message: Message) -> EmailMessage:
        """The MIME message: rendered text, the attachments, a Message-ID from the key."""
        rendered = self._registry.render(message.template, message.params)
        mail = EmailMessage()
        mail["From"] = self._sender
        mail["To"] = message.recipient
        mail["Subject"] = rendered.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = _message_id(message.idempotency_key, self._sender)
        mail.set_content(rendered.text)
        for filename, content, mime in message.attachments:
            maintype, _, subtype = mime.partition("/")
            mail.add_attachment(content, maintype=maintype, subtype=subtype or "octet-stream",
                                filename=filename)
        return mail

    def _deliver(self, mail: EmailMessage) -> dict[str, Any]:
        with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
            if self._starttls:
                smtp.starttls(context=self._ssl_context)
            if self._username:
                smtp.login(self._username, self._password or "")
            return smtp.send_message(mail)


def _message_id(key: str, sender: str) -> str:
    domain = sender.rpartition("@")[2].strip("> ") or "localhost"
    local = re.sub(r"[^A-Za-z0-9._-]", "_", key)[:200]
    return f"<{local}@{domain}>"


def _jsonable(refused: dict[str, Any]) -> dict[str, Any]:
    return {rcpt: [code, detail.decode(errors="replace") if isinstance(detail, bytes) else detail]
            for rcpt, (code, detail) in refused.items()}


def error_for(exc: smtplib.SMTPException) -> ChannelError:
    """SMTP reply codes: 4xx temporary, 5xx permanent; auth failures need an operator."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, detail = next(iter(exc.recipients.values()))
        return _by_code(int(code), f"recipient refused: {code} {_text(detail)}",
                        permanent=InvalidRecipient)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return ChannelMisconfigured(f"smtp auth failed: {exc.smtp_code} {_text(exc.smtp_error)}",
                                    provider_code=str(exc.smtp_code))
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return ChannelMisconfigured(f"smtp: {exc}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        if isinstance(exc.__context__, TimeoutError):  # smtplib wraps a read timeout
            return ChannelTimeout(f"smtp: {exc}")
        return ChannelUnavailable(f"smtp: {exc}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, f"smtp {exc.smtp_code} {_text(exc.smtp_error)}",
                        permanent=ChannelError)
    return ChannelUnavailable(f"smtp: {exc}")


def _by_code(code: int, text: str, *, permanent: type[ChannelError]) -> ChannelError:
    if code in (421, 450, 451, 452):
        return ChannelThrottled(text, retry_after=300.0, provider_code=str(code))
    if 400 <= code < 500:
        return ChannelUnavailable(text, provider_code=str(code))
    return permanent(text, provider_code=str(code))


def _text(detail: Any) -> str:
    return detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
