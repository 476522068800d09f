"""The contract every notification channel honours: messages in, results or typed errors out.

Channels are pure adapters (no database, no web framework, no job queue). The delivery log and
the queue worker live on top of them and decide what to do with an error from its ``retryable``
flag and its stable ``code``:

* ``ChannelTimeout`` / ``ChannelUnavailable`` / ``ChannelThrottled`` (``retry_after`` seconds):
  retry later, with the same idempotency key.
* ``ChannelAuthError``: the provider rejected our access token even after one refresh; the
  adapter has already refreshed and retried once, so the worker retries later.
* ``InvalidRecipient`` / ``TemplateError`` / ``ChannelMisconfigured``: do not retry.

Duplicate sends. Aliyun SendSms, WeChat and DingTalk offer no server-side idempotency (Aliyun's
documentation says so explicitly), so :class:`Channel` remembers the result of every accepted
message by its ``idempotency_key`` in a :class:`ResultStore` (in memory by default; the lead can
plug the shared ``backend.cache`` object, which has the same ``get``/``set`` shape) and answers a
retry of an already accepted message from there instead of sending it again. Where the provider
carries a caller id (Aliyun ``OutId``, the e-mail ``Message-ID``) the key is sent along, so
receipts and mailboxes can be matched to the delivery log.
"""
from __future__ import annotations

import abc
import asyncio
import json
import re
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar, Literal, Protocol

from backend.errors import AppError

Attachment = tuple[str, bytes, str]
"""(filename, content, MIME type), e.g. ``("policy.pdf", pdf_bytes, "application/pdf")``."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Message:
    """One notification to one recipient.

    ``recipient`` is what the channel addresses: a mobile number (sms), an openid (wechat), a
    DingTalk userid (dingtalk) or an e-mail address (email). ``template`` is a code from
    :mod:`notify.templates`; ``params`` fill its declared variables. ``idempotency_key`` is
    stable across retries of the same logical message (the delivery log id is a good choice).
    """

    channel: str
    recipient: str
    template: str
    params: dict[str, str] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)
    idempotency_key: str = ""

    def __post_init__(self) -> None:
        if not self.recipient:
            raise InvalidRecipient("recipient is empty")
        if not self.idempotency_key:
            raise ValueError("idempotency_key is required (retries must be recognisable)")


@dataclass(frozen=True)
class SendResult:
    """The provider accepted the message (accepted is not delivered: see receipts)."""

    provider_message_id: str
    accepted_at: datetime
    raw: dict[str, Any] = field(default_factory=dict)
    duplicate: bool = False
    """True when this result was replayed for a retry instead of sending again."""

    def to_json(self) -> bytes:
        data = asdict(self)
        data["accepted_at"] = self.accepted_at.isoformat()
        return json.dumps(data, ensure_ascii=False, default=str).encode()

    @classmethod
    def from_json(cls, blob: bytes) -> "SendResult":
        data = json.loads(blob)
        data["accepted_at"] = datetime.fromisoformat(data["accepted_at"])
        return cls(**data)


@dataclass(frozen=True)
class DeliveryReceipt:
    """The provider's later word on whether the message reached the handset / user."""

    provider_message_id: str
    status: Literal["delivered", "failed"]
    error_code: str | None
    received_at: datetime
    recipient: str = ""
    idempotency_key: str = ""
    """The caller's key echoed back by the provider (Aliyun ``out_id``), when it has one."""
    raw: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Errors. Status 502: a provider we depend on refused or failed.
# --------------------------------------------------------------------------------------------
class ChannelError(AppError):
    """A channel failed to hand over the message. ``retryable`` tells the worker what to do."""

    code, status, message = "CHANNEL_ERROR", 502, "the notification channel failed"
    retryable: bool = False

    def __init__(self, message: str | None = None, *, provider_code: str | None = None,
                 retryable: bool | None = None, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.provider_code = provider_code
        if retryable is not None:
            self.retryable = retryable

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(code={self.code!r}, provider_code="
                f"{self.provider_code!r}, retryable={self.retryable}, message={self.message!r})")


class ChannelTimeout(ChannelError):
    code, message, retryable = "CHANNEL_TIMEOUT", "the provider did not answer in time", True


class ChannelUnavailable(ChannelError):
    """Connection refused, HTTP 5xx, "system busy": the provider is down for now."""

    code, message, retryable = "CHANNEL_UNAVAILABLE", "the provider is unavailable", True


class ChannelThrottled(ChannelError):
    code, message, retryable = "CHANNEL_THROTTLED", "the provider throttled us", True

    def __init__(self, message: str | None = None, *, retry_after: float = 60.0,
                 provider_code: str | None = None) -> None:
        super().__init__(message, provider_code=provider_code)
        self.retry_after = retry_after


class InvalidRecipient(ChannelError):
    code, message = "INVALID_RECIPIENT", "the recipient cannot receive this message"
    retryable = False


class TemplateError(ChannelError):
    code, message, retryable = "TEMPLATE_ERROR", "the message template or its params are wrong", False


class ChannelAuthError(ChannelError):
    """Access token expired/invalid. Adapters refresh and retry once themselves; when this
    escapes, the fresh token was refused too, so a later retry is the only remedy."""

    code, message, retryable = "CHANNEL_AUTH_ERROR", "the provider rejected our access token", True


class ChannelMisconfigured(ChannelError):
    """Bad credentials, unknown sign name, account suspended: an operator must act."""

    code, message, retryable = "CHANNEL_MISCONFIGURED", "the channel is misconfigured", False


# --------------------------------------------------------------------------------------------
# Stores: results by idempotency key (async) and access tokens (sync, wechatpy-compatible).
# --------------------------------------------------------------------------------------------
class ResultStore(Protocol):
    """Async byte store with TTL; ``backend.cache.Cache`` satisfies it."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None: ...


class MemoryResultStore:
    """Bounded in-process store (oldest entries evicted first); per process only."""

    def __init__(self, max_items: int = 10_000) -> None:
        self._data: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()
        self._max = max_items

    async def get(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= time.monotonic():
            self._data.pop(key, None)
            return None
        return value

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._data[key] = (value, time.monotonic() + ttl if ttl else None)
        self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)


class TokenStore(Protocol):
    """Synchronous key/value store with TTL, the shape of ``wechatpy.session.SessionStorage``
    (so ``wechatpy.session.redisstorage.RedisStorage`` plugs in for multi-process caching)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any, ttl: float | None = None) -> None: ...

    def delete(self, key: str) -> None: ...


class MemoryTokenStore:
    """In-process token store honouring TTLs (wechatpy's own MemoryStorage ignores them)."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[Any, float | None]] = {}

    def get(self, key: str, default: Any = None) -> Any:
        item = self._data.get(key)
        if item is None:
            return default
        value, expires = item
        if expires is not None and expires <= time.monotonic():
            self._data.pop(key, None)
            return default
        return value

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        if value is None:
            return
        self._data[key] = (value, time.monotonic() + ttl if ttl else None)

    def delete(self, key: str) -> None:
        self._data.pop(key, None)


# --------------------------------------------------------------------------------------------
# Channel
# --------------------------------------------------------------------------------------------
RESULT_TTL_SECONDS = 7 * 24 * 3600


class Channel(abc.ABC):
    """A way to reach a person. Subclasses implement :meth:`_send`; :meth:`send` adds the
    duplicate guard so a retry of an accepted message never reaches the provider twice."""

    name: ClassVar[str]

    def __init__(self, *, results: ResultStore | None = None) -> None:
        self._results: ResultStore = results if results is not None else MemoryResultStore()
        self._inflight: dict[str, tuple[asyncio.Lock, int]] = {}

    async def send(self, message: Message) -> SendResult:
        key = f"notify:{self.name}:{message.channel}:sent:{message.idempotency_key}"
        lock, users = self._inflight.get(key, (asyncio.Lock(), 0))
        self._inflight[key] = (lock, users + 1)
        try:
            async with lock:  # concurrent retries of one key: the second waits and replays
                previous = await self._results.get(key)
                if previous is not None:
                    return _replayed(SendResult.from_json(previous))
                result = await self._send(message)
                await self._results.set(key, result.to_json(), RESULT_TTL_SECONDS)
                return result
        finally:
            lock, users = self._inflight[key]
            if users <= 1:
                del self._inflight[key]
            else:
                self._inflight[key] = (lock, users - 1)

    @abc.abstractmethod
    async def _send(self, message: Message) -> SendResult:
        """Hand the message to the provider once; raise a :class:`ChannelError` on failure."""

    async def aclose(self) -> None:
        """Release connections (HTTP pools); the default has none."""


def _replayed(result: SendResult) -> SendResult:
    return SendResult(result.provider_message_id, result.accepted_at, result.raw, duplicate=True)


_PHONE = re.compile(r"(\+?86|0086|\+\d{1,3})?(\d{7,15})")


def mask_recipient(recipient: str) -> str:
    """Hide most of a phone number / address / id for logs (PII stays out of log files)."""
    if "@" in recipient:
        local, _, domain = recipient.partition("@")
        return f"{local[:1]}***@{domain}"
    phone = _PHONE.fullmatch(recipient)
    if phone:
        prefix, digits = phone.group(1) or "", phone.group(2)
        return f"{prefix}{digits[:3]}****{digits[-4:]}"
    if len(recipient) <= 4:
        return "*" * len(recipient)
    return f"{recipient[:2]}***{recipient[-2:]}"
