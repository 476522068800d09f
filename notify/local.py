"""The local demo channel: no provider, the message goes to the log and to a small memory.

Every channel falls back to this one when it is not configured (see :mod:`notify.config`), so
``run.sh`` works without any account: the demo page lists :meth:`LocalChannel.recent` to show
the signing link or OTP a real SMS would have carried. The log line masks the recipient (PII);
the in-memory copy keeps it, because it is what the demo page has to show. With
``log_text=False`` (production fallback) the log carries the subject only, never an OTP or link.
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from notify.api import Channel, Message, ResultStore, SendResult, mask_recipient, utcnow
from notify.templates import DEFAULT_REGISTRY, TemplateRegistry

logger = logging.getLogger("notify.local")


@dataclass(frozen=True)
class ShownMessage:
    id: str
    channel: str
    recipient: str
    template: str
    subject: str
    text: str
    attachments: tuple[str, ...]
    sent_at: datetime


class LocalChannel(Channel):
    name = "local"

    def __init__(self, keep: int = 100, *, log_text: bool = True,
                 registry: TemplateRegistry = DEFAULT_REGISTRY,
                 results: ResultStore | None = None) -> None:
        super().__init__(results=results)
        self._log_text = log_text
        self._recent: deque[ShownMessage] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._registry = registry

    async def _send(self, message: Message) -> SendResult:
        rendered = self._registry.render(message.template, message.params)
        shown = ShownMessage(
            id=f"local-{uuid.uuid4().hex}", channel=message.channel,
            recipient=message.recipient, template=message.template, subject=rendered.subject,
            text=rendered.text, attachments=tuple(name for name, _, _ in message.attachments),
            sent_at=utcnow(),
        )
        with self._lock:
            self._recent.append(shown)
        logger.info("notify.local %s to %s [%s]: %s", message.channel,
                    mask_recipient(message.recipient), message.template,
                    rendered.text if self._log_text else rendered.subject,
                    extra={"notify_channel": message.channel, "template": message.template,
                           "idempotency_key": message.idempotency_key})
        return SendResult(shown.id, shown.sent_at, {"channel": message.channel})

    def recent(self, limit: int | None = None) -> list[ShownMessage]:
        """Newest first; at most ``keep`` messages are remembered."""
        with self._lock:
            items = list(reversed(self._recent))
        return items[:limit] if limit is not None else items

    def clear(self) -> None:
        with self._lock:
            self._recent.clear()
