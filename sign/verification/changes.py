"""Changes made after a signature: cross-reference tricks (byte level) + semantic object diff."""
from __future__ import annotations

from typing import Container

import pikepdf

from . import pdfscan
from .diff import Analyzer
from .report import Change, Severity

D = Severity.DISALLOWED


def changes_after(data: bytes, final: pikepdf.Pdf, final_damaged: bool, signed_end: int,
                  level: int, locked: Container[str] | None,
                  prefixes: dict[int, tuple[pikepdf.Pdf | None, bool]]) -> list[Change]:
    """Everything the incremental updates after ``signed_end`` changed, each allowed or not."""
    from .engine import open_pdf  # local: engine imports this module lazily too
    from . import errors as E

    if signed_end not in prefixes:
        try:
            prefixes[signed_end] = open_pdf(data[:signed_end])
        except E.PdfVerifyError:
            prefixes[signed_end] = (None, True)
    old, old_damaged = prefixes[signed_end]
    if old is None:
        return [Change("SIGNED_REVISION_UNREADABLE", D,
                       "the signed revision cannot be parsed on its own, so later changes cannot be "
                       "told apart from signed content")]
    out: list[Change] = []
    if final_damaged and not old_damaged:
        out.append(Change("XREF_DAMAGED", D, "an update after signing has broken cross-reference "
                                             "data; viewers may resolve objects differently than "
                                             "what was signed"))
    out.extend(xref_changes(data, signed_end, old, final))
    out.extend(Analyzer(old, final, level, locked).run())
    return out


def xref_changes(data: bytes, signed_end: int, old: pikepdf.Pdf,
                 final: pikepdf.Pdf) -> list[Change]:
    """Cross-reference entries of the later updates that redirect, roll back or delete objects."""
    section = data[signed_end:]
    entries = pdfscan.table_entries(section) + pdfscan.stream_entries(final, section)
    if not entries:
        return []
    prefix = data[:signed_end]
    signed_live = pdfscan.live_offsets(pdfscan.table_entries(prefix)
                                       + pdfscan.stream_entries(old, prefix))
    out: list[Change] = []
    for e in entries:
        change = _entry_change(data, signed_end, e, signed_live)
        if change is not None:
            out.append(change)
    return out


def _entry_change(data: bytes, signed_end: int, e: pdfscan.XrefEntry,
                  signed_live: dict[int, int]) -> Change | None:
    if not e.in_use:
        if e.num != 0 and e.num in signed_live:
            return Change("OBJECT_DELETED", D,
                          f"object {e.num} (in use when signed) was marked free after signing")
        return None
    header = pdfscan.obj_header_at(data, e.offset)
    inside = e.offset < signed_end
    if header is None:
        where = "inside the signed bytes" if inside else "in the update"
        return Change("XREF_BAD_OFFSET", D, f"cross-reference entry for object {e.num} points to "
                                            f"offset {e.offset} {where}, where no object starts")
    if header[0] != e.num:
        return Change("XREF_SUBSTITUTION", D,
                      f"object {e.num} was redirected to the bytes of object {header[0]} at offset "
                      f"{e.offset} (object overwritten by reference)")
    if inside:
        before = signed_live.get(e.num)
        if before is None or not _same_place(data, before, e.offset):
            return Change("XREF_ROLLBACK", D,
                          f"object {e.num} was redefined to an older version at offset {e.offset} "
                          "inside the signed bytes")
    return None


def _same_place(data: bytes, a: int, b: int) -> bool:
    lo, hi = min(a, b), max(a, b)
    return not data[lo:hi].strip(pdfscan._WS)
