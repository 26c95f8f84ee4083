"""GB/T 34014 parsing: every segment decoded, every wrong character located; date table; GS1 Digital Link."""

from __future__ import annotations

import json
import string
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from battrace.domain.battery_code import (
    LAYOUT,
    LENGTH,
    PATTERN,
    BatteryCodeError,
    DateTable,
    DateTableError,
    code_error,
    default_dates,
    gs1_check_digit,
    gtin14,
    parse,
    product_type,
    sgtin_digital_link,
)
from streams.simulator.story import date_code

CODE = "X12MCPM27KLPCLX2M2382320"  # the public Catena-X example
PRINTABLE = string.printable.strip() + " "


def with_char(code: str, position: int, ch: str) -> str:
    return code[: position - 1] + ch + code[position:]


def test_parses_the_public_example() -> None:
    c = parse(CODE)
    assert (c.manufacturer, c.battery_type, c.specification, c.traceability, c.serial) == (
        "X12",
        "C",
        "PM",
        "27KLPCL",
        "2382320",
    )
    assert c.product_type == "module" and c.chemistry == "unconfirmed"
    assert c.date_code == "X2M" and c.production_date == date(2029, 2, 21)
    assert c.segments == {
        "manufacturer": "X12",
        "product_type": "M",
        "battery_type": "C",
        "specification": "PM",
        "traceability": "27KLPCL",
        "year": "X",
        "month": "2",
        "day": "M",
        "serial": "2382320",
    }
    assert "".join(c.segments.values()) == CODE


@pytest.mark.parametrize(("letter", "name"), [("C", "cell"), ("M", "module"), ("P", "pack")])
def test_product_types(letter: str, name: str) -> None:
    code = with_char(CODE, 4, letter)
    assert parse(code).product_type == name == product_type(code)


@pytest.mark.parametrize(
    ("letter", "chemistry"), [("B", "LFP"), ("E", "NCM"), ("A", "unconfirmed"), ("Z", "unconfirmed")]
)
def test_only_confirmed_chemistries_are_named(letter: str, chemistry: str) -> None:
    c = parse(with_char(CODE, 5, letter))
    assert (c.battery_type, c.chemistry) == (letter, chemistry)


@pytest.mark.parametrize(
    ("position", "bad", "segment", "allowed"),
    [
        (1, "-", "manufacturer", "0-9, A-Z"),
        (4, "X", "product_type", "C, M, P"),
        (5, "H", "battery_type", "A-G, Z"),
        (7, "#", "specification", "0-9, A-Z"),
        (14, "!", "traceability", "0-9, A-Z"),
        (15, "O", "year", "1-9, A-N, P, R-Y"),
        (15, "0", "year", "1-9, A-N, P, R-Y"),
        (16, "D", "month", "1-9, A-C"),
        (17, "Q", "day", "0-9, A-N, P, R-Y"),
        (24, "A", "serial", "0-9"),
    ],
)
def test_a_wrong_character_names_position_segment_and_allowed_set(
    position: int, bad: str, segment: str, allowed: str
) -> None:
    code = with_char(CODE, position, bad)
    with pytest.raises(BatteryCodeError) as err:
        parse(code)
    e = err.value
    assert (e.position, e.segment, e.reason, e.allowed) == (position, segment, "character_class", allowed)
    assert f"position {position} ({segment})" in str(e) and allowed in str(e)
    assert code_error(code) == str(e)
    assert isinstance(e, ValueError)


def test_lower_case_gets_a_hint() -> None:
    with pytest.raises(
        BatteryCodeError, match=r"^position 10 \(traceability\): 'k' not allowed \(upper case expected\)"
    ):
        parse(CODE[:7] + CODE[7:14].lower() + CODE[14:])


def test_the_first_wrong_position_is_reported() -> None:
    with pytest.raises(BatteryCodeError) as err:
        parse(with_char(with_char(CODE, 20, "x"), 5, "H"))
    assert err.value.position == 5


@pytest.mark.parametrize(
    ("code", "position", "segment"),
    [("", 1, "manufacturer"), ("X12", 4, "product_type"), (CODE[:-1], 24, "serial"), (CODE + "0", 25, "serial")],
)
def test_wrong_length(code: str, position: int, segment: str) -> None:
    with pytest.raises(BatteryCodeError) as err:
        parse(code)
    e = err.value
    assert (e.position, e.segment, e.reason) == (position, segment, "length")
    assert f"must be {LENGTH} characters, got {len(code)}" in e.message
    assert f"position {position}" in e.message


def test_error_json_is_machine_readable() -> None:
    with pytest.raises(BatteryCodeError) as err:
        parse(with_char(CODE, 4, "X"))
    assert err.value.to_json() == {
        "code": with_char(CODE, 4, "X"),
        "valid": False,
        "position": 4,
        "segment": "product_type",
        "reason": "character_class",
        "message": "position 4 (product_type): 'X' not allowed; expected one of C, M, P",
    }


valid_codes = st.tuples(*(st.text(sorted(s.allowed), min_size=s.width, max_size=s.width) for s in LAYOUT)).map("".join)


@given(valid_codes)
def test_every_code_of_the_classes_parses(code: str) -> None:
    assert code_error(code) is None
    c = parse(code)
    assert "".join(c.segments.values()) == code and c.date_code == code[14:17]


@given(valid_codes, st.integers(1, LENGTH), st.sampled_from(PRINTABLE))
def test_any_wrong_character_is_located_exactly(code: str, position: int, ch: str) -> None:
    seg = next(s for s in LAYOUT if s.start < position <= s.start + s.width)
    broken = with_char(code, position, ch)
    if ch in seg.allowed:
        assert code_error(broken) is None
        return
    with pytest.raises(BatteryCodeError) as err:
        parse(broken)
    assert (err.value.position, err.value.segment, err.value.reason) == (position, seg.name, "character_class")


@given(st.text(PRINTABLE + "é", max_size=30))
def test_code_error_agrees_with_parse_and_the_pattern(code: str) -> None:
    problem = code_error(code)
    assert (problem is None) == bool(PATTERN.fullmatch(code) and len(code) == LENGTH)
    if problem is not None:
        with pytest.raises(BatteryCodeError, match="position"):
            parse(code)


# --- date table ------------------------------------------------------------------------------------------


def test_default_table_is_marked_unconfirmed() -> None:
    table = default_dates()
    assert not table.confirmed and "UNCONFIRMED" in table.note
    assert DateTable.load() is table
    assert len(table.month) == 12 and len(table.day) == 31 and len(table.year) == 30


@given(st.dates(date(2010, 1, 1), date(2039, 12, 31)))
def test_default_table_decodes_what_the_simulator_writes(d: date) -> None:
    assert default_dates().decode(date_code(d)) == d


@pytest.mark.parametrize("raw", ["U21", "I21", "X2I", "X20"])
def test_valid_characters_outside_the_table_decode_to_no_date(raw: str) -> None:
    code = CODE[:14] + raw + CODE[17:]
    c = parse(code)
    assert c.date_code == raw and c.production_date is None


def test_a_day_that_does_not_exist_decodes_to_no_date() -> None:
    assert parse(CODE[:14] + "X2X" + CODE[17:]).production_date is None  # day X = 30: 30 February
    assert parse(CODE[:14] + "X3X" + CODE[17:]).production_date == date(2029, 3, 30)


def _table(tmp_path: Path, **changes: object) -> Path:
    data = {"year": {"1": 2021}, "month": {"1": 1}, "day": {"1": 1}, **changes}
    path = tmp_path / "dates.json"
    path.write_text(json.dumps(data))
    return path


def test_a_table_file_overrides_the_default(tmp_path: Path) -> None:
    table = DateTable.load(_table(tmp_path, confirmed=True, year={"X": 2001}, month={"2": 2}, day={"M": 28}))
    c = parse(CODE, table)
    assert c.production_date == date(2001, 2, 28) and table.confirmed
    assert parse(with_char(CODE, 15, "Y"), table).production_date is None


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"year": {"O": 2020}}, "year key 'O' is not a valid year character"),
        ({"year": {"AB": 2020}}, "year key 'AB'"),
        ({"month": {"1": 13}}, r"month '1' -> 13 must be an integer 1\.\.12"),
        ({"day": {"1": True}}, "must be an integer"),
        ({"day": {"1": 1, "2": 1}}, "two day characters map to the same value"),
        ({"year": {}}, "'year' must be a non-empty object"),
    ],
)
def test_a_bad_table_file_is_refused_with_its_entry(tmp_path: Path, changes: dict, match: str) -> None:
    with pytest.raises(DateTableError, match=match):
        DateTable.load(_table(tmp_path, **changes))


def test_an_unreadable_table_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DateTableError, match="cannot read"):
        DateTable.load(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(DateTableError, match=r"broken\.json"):
        DateTable.load(tmp_path / "broken.json")
    with pytest.raises(DateTableError, match="JSON object"):
        DateTable.from_mapping([1, 2], "list")


# --- GS1 -------------------------------------------------------------------------------------------------


def test_digital_link_of_a_valid_gtin() -> None:
    assert sgtin_digital_link("09506000134352", "ABC123") == "https://id.gs1.org/01/09506000134352/21/ABC123"
    assert sgtin_digital_link("4006381333931", "7") == "https://id.gs1.org/01/04006381333931/21/7"  # GTIN-13


def test_serial_is_percent_encoded() -> None:
    assert sgtin_digital_link("09506000134352", "A/1%b") == "https://id.gs1.org/01/09506000134352/21/A%2F1%25b"


@pytest.mark.parametrize(
    ("gtin", "serial", "match"),
    [
        ("09506000134353", "1", "check digit 3, expected 2"),
        ("0950600013435", "1", "check digit"),
        ("0950600013435X", "1", "must be 8, 12, 13 or 14 digits"),
        ("123", "1", "must be 8, 12, 13 or 14 digits"),
        ("09506000134352", "", "1 to 20 characters"),
        ("09506000134352", "A" * 21, "1 to 20 characters"),
        ("09506000134352", "A B", "character set 82"),
        ("09506000134352", "A~", "character set 82"),
    ],
)
def test_digital_link_refuses_malformed_keys(gtin: str, serial: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        sgtin_digital_link(gtin, serial)


@given(st.text("0123456789", min_size=13, max_size=13), st.integers(1, 9))
def test_check_digit_round_trip(body: str, shift: int) -> None:
    good = body + gs1_check_digit(body)
    assert gtin14(good) == good
    wrong = body + str((int(good[-1]) + shift) % 10)
    with pytest.raises(ValueError, match="check digit"):
        gtin14(wrong)


def test_simulator_gtins_are_valid() -> None:
    from streams.simulator.story import gtin14 as sim_gtin14

    assert gtin14(sim_gtin14("0950600013435")) == "09506000134352"


def test_date_table_covers_every_day_of_a_leap_year() -> None:
    d = date(2028, 1, 1)
    while d.year == 2028:
        assert default_dates().decode(date_code(d)) == d
        d += timedelta(days=1)
