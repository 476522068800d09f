"""Unit change notifications: how seals, grants and other unit-owned things follow the
organisation [印章/授权随机构变更].

``org.sync`` calls every registered listener, inside the sync transaction, for each unit change
(``created``, ``renamed``, ``reclassified``, ``moved``, ``disabled``, ``enabled``). A seal module
registers one with ``register_unit_listener`` (e.g. to suspend the seals of a disabled unit and
revoke their grants); a listener that raises rolls the whole sync back.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any


@dataclasses.dataclass(frozen=True)
class UnitChange:
    tenant_id: str
    unit_id: str
    change: str
    details: dict[str, Any]


Listener = Callable[[UnitChange], Awaitable[None]]
_LISTENERS: list[Listener] = []


def register_unit_listener(listener: Listener) -> Listener:
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)
    return listener


def unregister_unit_listener(listener: Listener) -> None:
    if listener in _LISTENERS:
        _LISTENERS.remove(listener)


async def unit_changed(change: UnitChange) -> None:
    for listener in list(_LISTENERS):
        await listener(change)


@dataclasses.dataclass(frozen=True)
class UserDisabled:
    tenant_id: str
    user_id: str
    #: every id the user is known by (our id, business-system id, DingTalk userid)
    refs: tuple[str, ...]
    reason: str


UserListener = Callable[[UserDisabled], Awaitable[None]]
_USER_LISTENERS: list[UserListener] = []


def register_user_listener(listener: UserListener) -> UserListener:
    if listener not in _USER_LISTENERS:
        _USER_LISTENERS.append(listener)
    return listener


async def user_disabled(event: UserDisabled) -> None:
    for listener in list(_USER_LISTENERS):
        await listener(event)
