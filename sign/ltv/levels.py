"""Signature levels: PAdES baseline (B-B/B-T/B-LT/B-LTA) and their GM (SM2/SM3) equivalents.

========  =========  ==================================================================
PAdES     GM         reached when (each level includes the ones before)
========  =========  ==================================================================
B-B       GM-B       the signature verifies and its certificate path validates at the
                     time proven for it (or at the verification time without proof)
B-T       GM-T       a trusted time-stamp proves when the signature existed (signature
                     time-stamp, document / archive time-stamp covering it)
B-LT      GM-LT      the document embeds the validation material: every certificate of
                     the signer's path and of its time-stamp's TSA path, and a CRL from
                     each issuer (DSS for PDF, the archive's ValidationData for OFD)
B-LTA     GM-LTA     a trusted archive time-stamp covers that material (PDF: document
                     time-stamp after the DSS; OFD: archive_N); GM-LTA needs an SM2-signed
                     token with an SM3 message imprint
========  =========  ==================================================================

The GM names apply to SM2 signatures (PDF or OFD); RSA/ECDSA signatures get PAdES names.
"""
from __future__ import annotations

from dataclasses import dataclass

PADES_LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
GM_LEVELS = ("GM-B", "GM-T", "GM-LT", "GM-LTA")


@dataclass(frozen=True)
class LevelFacts:
    """What was established for one signature."""

    gm: bool                  # SM2 signature: GM level names
    basic_valid: bool         # integrity + crypto + path valid at the proven time
    time_proven: bool         # a trusted time-stamp proves existence
    material_complete: bool   # validation material embedded
    archived: bool            # a trusted archive time-stamp (GM algorithms for GM) covers it


def classify(facts: LevelFacts) -> str | None:
    """The highest level reached, ``None`` when the signature is not valid at all."""
    names = GM_LEVELS if facts.gm else PADES_LEVELS
    if not facts.basic_valid:
        return None
    if not facts.time_proven:
        return names[0]
    if not facts.material_complete:
        return names[1]
    if not facts.archived:
        return names[2]
    return names[3]


def rank(level: str | None) -> int:
    """0 for ``None``, 1..4 for B/T/LT/LTA (either naming)."""
    if level is None:
        return 0
    for names in (PADES_LEVELS, GM_LEVELS):
        if level in names:
            return names.index(level) + 1
    return 0
