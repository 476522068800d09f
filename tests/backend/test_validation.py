"""Validators: every branch, with check characters computed by an independent implementation
(weights written out from the standards) and published examples."""
from __future__ import annotations

import datetime as dt

import pytest

from backend.errors import ValidationFailed
from backend.validation import (
    IdNumberInvalid, MobileInvalid, NameInvalid, UsccInvalid, validate_id_number, validate_mobile,
    validate_person_name, validate_uscc,
)

TODAY = dt.date(2026, 11, 25)

# GB 11643-1999 weights W_i = 2^(i-1) mod 11 for positions 18..2, written out as in the standard.
GB11643_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
GB11643_CHECK = {0: "1", 1: "0", 2: "X", 3: "9", 4: "8", 5: "7", 6: "6", 7: "5", 8: "4", 9: "3", 10: "2"}


def with_check(first17: str) -> str:
    return first17 + GB11643_CHECK[sum(int(d) * w for d, w in zip(first17, GB11643_WEIGHTS)) % 11]


def wrong_check(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


# GB 32100-2015: characters and their values; weights 3^(i-1) mod 31.
USCC_VALUES = {c: i for i, c in enumerate("0123456789ABCDEFGHJKLMNPQRTUWXY")}
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc_with_check(first17: str) -> str:
    c = 31 - sum(USCC_VALUES[ch] * w for ch, w in zip(first17, USCC_WEIGHTS)) % 31
    value = 0 if c == 31 else c
    return first17 + next(ch for ch, v in USCC_VALUES.items() if v == value)


# ---------------------------------------------------------------------------------------------
# ID numbers
# ---------------------------------------------------------------------------------------------


def test_standard_example_id_number() -> None:
    info = validate_id_number("11010519491231002X", today=TODAY)
    assert info.number == "11010519491231002X"
    assert info.birth_date == dt.date(1949, 12, 31)
    assert info.gender == "F"            # 17th digit 2 is even
    assert info.region_code == "110105" and info.province_code == "11"


def test_lower_case_x_and_spaces_are_normalised() -> None:
    assert validate_id_number(" 11010519491231002x ", today=TODAY).number == "11010519491231002X"


def test_independent_check_digit_agrees_and_gender_male() -> None:
    number = with_check("44030419900101001")
    assert number == "440304199001010011"
    info = validate_id_number(number, today=TODAY)
    assert info.gender == "M" and info.birth_date == dt.date(1990, 1, 1)


@pytest.mark.parametrize("first17", ["11010120000229001", "65010219851231123", "82000020260101004",
                                     "91110119700101123", "71000019000101001", "83000019991231999"])
def test_valid_numbers_across_regions_and_leap_day(first17: str) -> None:
    assert validate_id_number(with_check(first17), today=TODAY).number == with_check(first17)


def test_published_sample_from_market_docs() -> None:
    # appears in public market API examples; its check character is right
    assert validate_id_number("32132419860817421X", today=TODAY).birth_date == dt.date(1986, 8, 17)


@pytest.mark.parametrize("value", ["", "1101051949123100", "11010519491231002XX", "11010519491231002Y",
                                   "X1010519491231002X", "110105 19491231002", "１１0105194912310020",
                                   None])
def test_format_errors(value: str) -> None:
    with pytest.raises(IdNumberInvalid) as caught:
        validate_id_number(value, today=TODAY)  # type: ignore[arg-type]
    assert caught.value.code == "ID_NUMBER_INVALID"
    assert caught.value.reason == "format"
    assert caught.value.details == [{"field": "id_number", "error": "format"}]
    assert caught.value.status == 422 and isinstance(caught.value, ValidationFailed)


@pytest.mark.parametrize("province", ["00", "10", "16", "20", "24", "30", "38", "40", "47", "49",
                                      "55", "60", "66", "70", "72", "80", "84", "90", "92", "99"])
def test_region_errors(province: str) -> None:
    with pytest.raises(IdNumberInvalid) as caught:
        validate_id_number(with_check(province + "010519491231002"), today=TODAY)
    assert caught.value.reason == "region"


@pytest.mark.parametrize("birth", ["19490230", "19491301", "19490000", "20230229", "19491232"])
def test_birth_dates_that_do_not_exist(birth: str) -> None:
    with pytest.raises(IdNumberInvalid) as caught:
        validate_id_number(with_check("110105" + birth + "002"), today=TODAY)
    assert caught.value.reason == "birth_date"


def test_future_birth_date() -> None:
    with pytest.raises(IdNumberInvalid) as caught:
        validate_id_number(with_check("11010520261126002"), today=TODAY)
    assert caught.value.reason == "birth_date" and "future" in caught.value.message
    # born today is fine
    assert validate_id_number(with_check("11010520261125002"), today=TODAY)


def test_birth_before_1900() -> None:
    with pytest.raises(IdNumberInvalid) as caught:
        validate_id_number(with_check("11010518991231002"), today=TODAY)
    assert caught.value.reason == "birth_date"
    assert validate_id_number(with_check("11010519000101002"), today=TODAY)


@pytest.mark.parametrize("number", ["11010519491231002X", "440304199001010011", "32132419860817421X"])
def test_wrong_check_digit(number: str) -> None:
    with pytest.raises(IdNumberInvalid) as caught:
        validate_id_number(wrong_check(number), today=TODAY)
    assert caught.value.reason == "check_digit"


def test_today_defaults_to_the_real_date() -> None:
    assert validate_id_number("11010519491231002X").birth_date.year == 1949


# ---------------------------------------------------------------------------------------------
# USCC
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000802100433B"])
def test_published_uscc_examples(code: str) -> None:
    # widely published examples (91350100M000100Y43 is the usual GB 32100 worked example)
    assert validate_uscc(code) == code
    assert uscc_with_check(code[:17]) == code


@pytest.mark.parametrize("body", ["91310000607393531", "12100000400000624", "52440300MJL1234XY",
                                  "31110000MA00ABCDE"])
def test_uscc_agrees_with_independent_implementation(body: str) -> None:
    assert validate_uscc(uscc_with_check(body)) == uscc_with_check(body)


def test_uscc_lower_case_normalised_and_check_zero() -> None:
    # find a body whose check value is 31 -> "0" with the independent implementation
    body = next(f"91110000MA{n:07d}" for n in range(100000) if uscc_with_check(f"91110000MA{n:07d}")[-1] == "0")
    assert validate_uscc((body + "0").lower()) == body + "0"


@pytest.mark.parametrize("code", ["", "91350100M000100Y4", "91350100M000100Y433", "91350100M000100I43",
                                  "91350100M000100O43", "9135010-M000100Y43", "91350100Z000100Y43"])
def test_uscc_format_errors(code: str) -> None:
    with pytest.raises(UsccInvalid) as caught:
        validate_uscc(code)
    assert caught.value.code == "USCC_INVALID" and caught.value.reason == "format"


def test_uscc_wrong_check_char() -> None:
    with pytest.raises(UsccInvalid) as caught:
        validate_uscc("91350100M000100Y44")
    assert caught.value.reason == "check_digit"


# ---------------------------------------------------------------------------------------------
# Names and mobiles
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, normalised", [
    ("张三", "张三"), ("欧阳娜娜", "欧阳娜娜"), ("买买提·艾力", "买买提·艾力"),
    ("阿卜杜拉・买买提", "阿卜杜拉·买买提"), ("  王 五 ", None), ("John Smith", "John Smith"),
    ("Mary-Jane O'Neil", "Mary-Jane O'Neil"), ("Li  Lei", "Li Lei"),
])
def test_valid_names(name: str, normalised: str | None) -> None:
    if normalised is None:
        with pytest.raises(NameInvalid):
            validate_person_name(name)   # a space inside a Chinese name is not allowed
    else:
        assert validate_person_name(name) == normalised


@pytest.mark.parametrize("name, reason", [
    ("张3", "digits"), ("Agent007", "digits"), ("张三１", "digits"), ("张", "length"), ("", "length"),
    ("A" * 51, "length"), ("张三Li", "characters"), ("·张三", "characters"), ("张三·", "characters"),
    ("张··三", "characters"), ("张三!", "characters"), ("<script>", "characters"),
])
def test_invalid_names(name: str, reason: str) -> None:
    with pytest.raises(NameInvalid) as caught:
        validate_person_name(name)
    assert caught.value.code == "NAME_INVALID" and caught.value.reason == reason


@pytest.mark.parametrize("raw, number", [
    ("13800138000", "13800138000"), ("+8613800138000", "13800138000"),
    ("+86 138-0013-8000", "13800138000"), ("008619912345678", "19912345678"),
])
def test_valid_mobiles(raw: str, number: str) -> None:
    assert validate_mobile(raw) == number


@pytest.mark.parametrize("raw", ["", "12800138000", "1380013800", "138001380001", "+85213800138000",
                                 "1380013800a", "23800138000", "１3800138000", None])
def test_invalid_mobiles(raw: str) -> None:
    with pytest.raises(MobileInvalid) as caught:
        validate_mobile(raw)  # type: ignore[arg-type]
    assert caught.value.code == "MOBILE_INVALID"
    assert caught.value.to_dict()["details"] == [{"field": "mobile", "error": "format"}]
