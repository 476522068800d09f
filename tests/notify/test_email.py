"""SMTP e-mail against a local aiosmtpd server (plain, and STARTTLS + AUTH)."""
from __future__ import annotations

import ssl

import pytest

from notify.api import (
    ChannelError, ChannelMisconfigured, ChannelThrottled, ChannelTimeout, ChannelUnavailable,
    InvalidRecipient,
)
from notify.email import SmtpEmailChannel
from tests.fakes.notify_servers import free_port
from tests.notify.conftest import TIMEOUT

PDF = b"%PDF-1.7\n% signed policy\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
ADDRESS = "zhang.san@example.com"


async def test_send_with_signed_pdf_attached(email_channel, smtp_server, message):
    msg = message("email", ADDRESS, template="SIGN_COMPLETED",
                  params={"name": "张三", "doc_title": "个人意外险保单"},
                  attachments=[("保单-已签署.pdf", PDF, "application/pdf")])
    result = await email_channel.send(msg)

    (got,) = smtp_server.messages
    assert got["rcpt_tos"] == [ADDRESS] and got["mail_from"] == "esign@insurer.example"
    mail = got["message"]
    assert mail["Subject"] == "《个人意外险保单》已签署完成"
    assert mail["Message-ID"] == result.provider_message_id
    assert msg.idempotency_key in result.provider_message_id
    assert "张三您好" in mail.get_body(("plain",)).get_content()
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_filename() == "保单-已签署.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF


async def test_starttls_and_auth(smtp_tls_server, message):
    channel = SmtpEmailChannel("127.0.0.1", smtp_tls_server.port, sender="esign@insurer.example",
                               username="mailer", password="mail-pass", starttls=True,
                               timeout=TIMEOUT * 4, ssl_context=smtp_tls_server.client_context())
    await channel.send(message("email", ADDRESS))
    (got,) = smtp_tls_server.messages
    assert got["tls"] and got["auth"]


async def test_wrong_password(smtp_tls_server, message):
    channel = SmtpEmailChannel("127.0.0.1", smtp_tls_server.port, sender="esign@insurer.example",
                               username="mailer", password="nope", starttls=True,
                               timeout=TIMEOUT * 4, ssl_context=smtp_tls_server.client_context())
    with pytest.raises(ChannelMisconfigured) as info:
        await channel.send(message("email", ADDRESS))
    assert info.value.provider_code == "535"
    assert smtp_tls_server.messages == []


async def test_untrusted_certificate_is_refused(smtp_tls_server, message):
    channel = SmtpEmailChannel("127.0.0.1", smtp_tls_server.port, sender="esign@insurer.example",
                               username="mailer", password="mail-pass", starttls=True,
                               timeout=TIMEOUT * 4, ssl_context=ssl.create_default_context())
    with pytest.raises(ChannelError):
        await channel.send(message("email", ADDRESS))
    assert smtp_tls_server.messages == []


async def test_recipient_refused_permanently(email_channel, smtp_server, message):
    smtp_server.reject(ADDRESS, "550 5.1.1 mailbox unavailable")
    with pytest.raises(InvalidRecipient) as info:
        await email_channel.send(message("email", ADDRESS))
    assert info.value.provider_code == "550" and not info.value.retryable


async def test_recipient_greylisted_is_retryable(email_channel, smtp_server, message):
    smtp_server.reject(ADDRESS, "451 4.7.1 greylisted, try again later")
    with pytest.raises(ChannelThrottled) as info:
        await email_channel.send(message("email", ADDRESS))
    assert info.value.retryable


async def test_not_an_address(email_channel, smtp_server, message):
    with pytest.raises(InvalidRecipient):
        await email_channel.send(message("email", "13800138000"))


async def test_slow_server_times_out(email_channel, smtp_server, message):
    smtp_server.handler.slow_seconds = 1.5
    with pytest.raises(ChannelTimeout) as info:
        await email_channel.send(message("email", ADDRESS))
    assert info.value.retryable


async def test_server_down(message):
    channel = SmtpEmailChannel("127.0.0.1", free_port(), sender="esign@insurer.example",
                               starttls=False, timeout=TIMEOUT)
    with pytest.raises(ChannelUnavailable) as info:
        await channel.send(message("email", ADDRESS))
    assert info.value.retryable


async def test_duplicate_retry_not_sent_twice(email_channel, smtp_server, message):
    msg = message("email", ADDRESS)
    first = await email_channel.send(msg)
    second = await email_channel.send(msg)
    assert second.duplicate and second.provider_message_id == first.provider_message_id
    assert len(smtp_server.messages) == 1
