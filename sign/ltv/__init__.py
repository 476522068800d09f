"""Long-term validation (LTV): PAdES B-LT/B-LTA for PDFs, GM-LT/GM-LTA for SM2 PDFs and OFDs.

* :func:`sign.ltv.dss.add_dss` — Document Security Store (certificates, CRLs, VRI)
* :func:`sign.ltv.doc_timestamp.add_doc_timestamp` — document time-stamp (SHA-256 or SM3)
* :func:`sign.ltv.ofd.add_archive` — OFD archive part (``Doc_0/Signs/Archive/archive_N``)
* :func:`sign.ltv.archive.renew`, :class:`sign.ltv.archive.ArchiveJob` — re-time-stamping
* :func:`sign.ltv.verify_at.verify_at` — offline verification as of a date, level per signature

Structures and the validation algorithm: ``docs/ltv.md``. Errors: :class:`LtvError` (``code``).
"""
from sign.ltv.errors import LtvError
from sign.ltv.levels import GM_LEVELS, PADES_LEVELS
from sign.ltv.material import Material, load_material

__all__ = ["GM_LEVELS", "LtvError", "Material", "PADES_LEVELS", "load_material"]
