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
