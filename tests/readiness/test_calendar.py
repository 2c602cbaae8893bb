"""The Vietnamese holiday calendar: lunar holidays, spans, names, extra days off."""

from __future__ import annotations

import json
from datetime import date

import holidays as holidays_lib
import pytest

from itaudit.errors import UsageError
from itaudit.readiness.calendar import can_chi, find_holiday, next_holiday, year_calendar

# First day of Tết (mùng 1) as published in Vietnam.
TET = {
    1985: date(1985, 1, 21),
    2007: date(2007, 2, 17),
    2019: date(2019, 2, 5),
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2030: date(2030, 2, 2),
}
# Hùng Kings' day (10th day of the 3rd lunar month).
HUNG_KINGS = {
    2019: date(2019, 4, 14),
    2020: date(2020, 4, 2),
    2021: date(2021, 4, 21),
    2022: date(2022, 4, 10),
    2023: date(2023, 4, 29),
    2024: date(2024, 4, 18),
    2025: date(2025, 4, 7),
    2026: date(2026, 4, 26),
}


def _tet_day(year: int) -> date:
    spans = [h for h in year_calendar(year) if h.key == "tet"]
    assert len(spans) == 1
    return next(s.day for s in spans[0].official if s.name_en == "Lunar New Year")


@pytest.mark.parametrize("year", sorted(TET))
def test_tet(year):
    assert _tet_day(year) == TET[year]


@pytest.mark.parametrize("year", [1985, 2007, 2030])
def test_tet_differs_from_chinese_new_year_in_these_years(year):
    """Vietnam's calendar is computed at UTC+7, China's at UTC+8: some new moons fall on different days."""
    china = holidays_lib.China(years=year, language="en_US")
    chinese_new_year = min(
        d for d, n in china.items() if n.startswith("Chinese New Year (Spring Festival)")
    )
    assert _tet_day(year) == TET[year]
    assert _tet_day(year) < chinese_new_year


@pytest.mark.parametrize("year", sorted(HUNG_KINGS))
def test_hung_kings_day(year):
    days = [
        s.day
        for h in year_calendar(year)
        for s in h.official
        if s.name_en == "Hung Kings' Commemoration Day"
    ]
    assert HUNG_KINGS[year] in days


def test_hung_kings_day_next_to_30_april_shares_its_span():
    """2023: 29/4 (Hùng Kings) to 3/5 was one closure; it is named after the bigger holiday."""
    span = next(h for h in year_calendar(2023) if h.covers(date(2023, 4, 29)))
    assert (span.key, span.start, span.end) == (
        "reunification",
        date(2023, 4, 29),
        date(2023, 5, 3),
    )


def test_tet_2026_span_joins_the_weekends():
    tet = next(h for h in year_calendar(2026) if h.key == "tet")
    assert (tet.start, tet.end, tet.days) == (date(2026, 2, 14), date(2026, 2, 22), 9)
    assert tet.name_vi == "Tết Nguyên đán Bính Ngọ"
    assert tet.ident() == "tet-2026"


def test_bridge_day_joins_national_day_2026():
    national = next(h for h in year_calendar(2026) if h.key == "national-day")
    assert (national.start, national.end) == (date(2026, 8, 29), date(2026, 9, 2))
    assert date(2026, 8, 31) in [s.day for s in national.official]


def test_30_april_and_1_may_are_one_span():
    span = next(h for h in year_calendar(2026) if h.key == "reunification")
    assert (span.start, span.end) == (date(2026, 4, 30), date(2026, 5, 3))


def test_can_chi():
    assert can_chi(2024) == "Giáp Thìn"
    assert can_chi(2026) == "Bính Ngọ"
    assert can_chi(1985) == "Ất Sửu"


def test_unit_extra_day_off(sample_org):
    plain = [h.key for h in year_calendar(2026, sample_org)]
    school = year_calendar(2026, sample_org, "tcn-miennui")
    local = next(h for h in school if h.key == "local")
    assert "local" not in plain
    assert (local.start, local.end, local.name_vi) == (
        date(2026, 11, 20),
        date(2026, 11, 22),
        "Ngày Nhà giáo Việt Nam",
    )


def test_unknown_unit(sample_org):
    with pytest.raises(UsageError, match="unknown unit 'x'"):
        year_calendar(2026, sample_org, "x")


def test_next_holiday_is_the_current_one_during_a_span():
    assert next_holiday(date(2026, 2, 18)).key == "tet"
    assert next_holiday(date(2026, 2, 23)).key == "hung-kings"


@pytest.mark.parametrize(
    ("query", "key", "start"),
    [
        ("tet", "tet", date(2027, 2, 4)),
        ("Tết", "tet", date(2027, 2, 4)),
        ("quoc khanh", "national-day", date(2027, 9, 2)),
        ("national-day-2027", "national-day", date(2027, 9, 2)),
        ("Hùng Vương", "hung-kings", date(2027, 4, 16)),
    ],
)
def test_find_holiday(query, key, start):
    found = find_holiday(query, date(2026, 11, 23))
    assert (found.key, found.start) == (key, start)


def test_find_unknown_holiday():
    with pytest.raises(UsageError, match="no holiday matches 'christmas'"):
        find_holiday("christmas", date(2026, 11, 23))


def test_holidays_command(workspace, run_cli):
    result = run_cli("holidays", "-w", str(workspace.root), "--year", "2026", "--format", "json")
    assert result.returncode == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["id"] for r in rows][:3] == ["new-year-2026", "tet-2026", "hung-kings-2026"]
    table = run_cli("holidays", "-w", str(workspace.root), "--year", "2026").stdout
    assert "14/02/2026" in table and "Tết Nguyên đán Bính Ngọ" in table
    english = run_cli("holidays", "-w", str(workspace.root), "-y", "2026", "--lang", "en").stdout
    assert "Lunar New Year (Tết Bính Ngọ)" in english and "2026-02-14" in english


def test_day_moved_by_government_decision_joins_the_span():
    """2025: 2 May was made a day off (worked on 26 April instead): 30/4 to 4/5 is one span."""
    span = next(h for h in year_calendar(2025) if h.key == "reunification")
    assert (span.start, span.end) == (date(2025, 4, 30), date(2025, 5, 4))
    assert date(2025, 5, 2) in [s.day for s in span.official]


def test_organisation_day_off_joins_the_national_span(sample_org):
    import dataclasses

    from itaudit.org.model import DayOff

    org = dataclasses.replace(
        sample_org,
        days_off=(
            DayOff(date(2026, 12, 31), "Nghỉ bù theo quyết định của tỉnh", "Province day off"),
        ),
        _by_id={},
    )
    span = next(h for h in year_calendar(2027, org) if h.key == "new-year")
    assert (span.start, span.end) == (date(2026, 12, 31), date(2027, 1, 3))
    assert span.name_vi == "Tết Dương lịch"  # named after the national holiday it joins
    assert next_holiday(date(2026, 12, 30), org).start == date(2026, 12, 31)
