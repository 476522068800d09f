"""Pure validators for the identity data a signer or an enterprise types in [实名要素校验].

No I/O: these run before any paid provider call, so a typo costs nothing and a provider is
never asked about a number that cannot exist. Each failure raises a ``ValidationFailed``
subclass with a stable code and ``details`` in the API's shape (``[{"field", "error"}]``);
``exc.reason`` repeats the error for callers that branch on it.

- ``validate_id_number``: resident ID number, GB 11643-1999 (18 characters, ISO 7064 MOD 11-2).
- ``validate_uscc``: unified social credit code, GB 32100-2015 (18 characters, MOD 31).
- ``validate_person_name``: Chinese names (with "·" for ethnic names) or Latin names.
- ``validate_mobile``: mainland mobile number, optional +86 / 0086 prefix removed.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

from backend.errors import ValidationFailed

# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class _FieldInvalid(ValidationFailed):
    field = "value"

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message, details=[{"field": self.field, "error": reason}])
        self.reason = reason


class IdNumberInvalid(_FieldInvalid):
    code, message, field = "ID_NUMBER_INVALID", "the ID number is not a valid GB 11643 number", "id_number"


class UsccInvalid(_FieldInvalid):
    code, message, field = "USCC_INVALID", "the unified social credit code is not valid (GB 32100)", "uscc"


class NameInvalid(_FieldInvalid):
    code, message, field = "NAME_INVALID", "the name is not a valid person name", "name"


class MobileInvalid(_FieldInvalid):
    code, message, field = "MOBILE_INVALID", "the mobile number is not a mainland mobile number", "mobile"


# --------------------------------------------------------------------------------------------
# ID number (GB 11643-1999)
# --------------------------------------------------------------------------------------------

# First two digits: province-level division (GB/T 2260), plus 71 Taiwan, 81 Hong Kong, 82 Macao,
# 83 Taiwan residents' permits, 91 foreigners' permanent residence (2023 format).
PROVINCE_CODES = frozenset(
    [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
     50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91])
ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
ID_CHECK_CHARS = "10X98765432"  # index = weighted sum mod 11
EARLIEST_BIRTH = dt.date(1900, 1, 1)
_ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")


@dataclasses.dataclass(frozen=True)
class IdNumberInfo:
    number: str          # normalised: upper-case X
    region_code: str     # 6-digit administrative division code of the registration place
    province_code: str   # its first 2 digits
    birth_date: dt.date
    gender: str          # "M" | "F" (17th digit odd = male)


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for 17 digits (ISO 7064 MOD 11-2)."""
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS))
    return ID_CHECK_CHARS[total % 11]


def validate_id_number(s: str, today: dt.date | None = None) -> IdNumberInfo:
    """Validate format, region, birth date and check character; ``today`` is injectable for tests."""
    number = (s or "").strip().upper()
    if not _ID_RE.match(number):
        raise IdNumberInvalid("format", "an ID number has 17 digits followed by a digit or X")
    if int(number[:2]) not in PROVINCE_CODES:
        raise IdNumberInvalid("region", "the ID number's region code is not a known province")
    birth = _birth_date(number[6:14], today or dt.date.today())
    if id_check_char(number[:17]) != number[17]:
        raise IdNumberInvalid("check_digit", "the ID number's check character is wrong")
    return IdNumberInfo(number=number, region_code=number[:6], province_code=number[:2],
                        birth_date=birth, gender="M" if int(number[16]) % 2 else "F")


def _birth_date(yyyymmdd: str, today: dt.date) -> dt.date:
    try:
        birth = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        raise IdNumberInvalid("birth_date", "the ID number's birth date does not exist") from None
    if birth > today:
        raise IdNumberInvalid("birth_date", "the ID number's birth date is in the future")
    if birth < EARLIEST_BIRTH:
        raise IdNumberInvalid("birth_date", "the ID number's birth date is before 1900")
    return birth


# --------------------------------------------------------------------------------------------
# Unified social credit code (GB 32100-2015)
# --------------------------------------------------------------------------------------------

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3^i mod 31
_USCC_RE = re.compile(rf"^[{USCC_CHARSET}]{{18}}$")


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters (31 - sum mod 31; 31 -> 0)."""
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_CHARSET[(31 - total % 31) % 31]


def validate_uscc(s: str) -> str:
    """Return the normalised (upper-case) code; charset, length and check character are checked."""
    code = (s or "").strip().upper()
    if not _USCC_RE.match(code):
        raise UsccInvalid("format", "a unified social credit code has 18 characters from "
                                    "0-9 and A-Y without I, O, S, V, Z")
    if uscc_check_char(code[:17]) != code[17]:
        raise UsccInvalid("check_digit", "the unified social credit code's check character is wrong")
    return code


# --------------------------------------------------------------------------------------------
# Person name and mobile
# --------------------------------------------------------------------------------------------

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Han characters, optionally joined by a middle dot (U+00B7; U+30FB and U+2022 are normalised)
_CHINESE_NAME = re.compile(rf"^[{_HAN}]+(?:·[{_HAN}]+)*$")
_LATIN_NAME = re.compile(r"^[A-Za-z]+(?:[ .'-][A-Za-z]+)*$")
_DOTS = str.maketrans({"・": "·", "•": "·", "．": "·", "‧": "·"})


def validate_person_name(s: str) -> str:
    """Return the normalised name (trimmed, one kind of middle dot, single spaces)."""
    name = " ".join((s or "").split()).translate(_DOTS)
    if any(c.isdigit() for c in name):
        raise NameInvalid("digits", "a name cannot contain digits")
    if not 2 <= len(name) <= 50:
        raise NameInvalid("length", "a name has 2 to 50 characters")
    if not (_CHINESE_NAME.match(name) or _LATIN_NAME.match(name)):
        raise NameInvalid("characters", "a name is Chinese characters (with · for ethnic names) "
                                        "or Latin letters and spaces")
    return name


_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")


def validate_mobile(s: str) -> str:
    """Return the 11-digit number; a "+86" or "0086" prefix and spaces/dashes are removed."""
    raw = re.sub(r"[\s-]", "", s or "")
    for prefix in ("+86", "0086"):
        if raw.startswith(prefix):
            raw = raw[len(prefix):]
            break
    if not _MOBILE_RE.match(raw):
        raise MobileInvalid("format", "a mainland mobile number is 11 digits starting 13-19")
    return raw
