"""The Vietnamese holiday calendar: lunar holidays, spans, names, extra days off."""

from __future__ import annotations

import json
from datetime import date

import holidays as holidays_lib
import pytest

from itaudit.errors import UsageError
from itaudit.readiness.calendar import can_chi, find_holiday, next_holiday, year_calendar

# First day of Tết (mùng 1) as published in Vietnam (Vietnamese calendars of each year).
TET = {
    1968: date(1968, 1, 29),
    1985: date(1985, 1, 21),
    2005: date(2005, 2, 9),
    2006: date(2006, 1, 29),
    2007: date(2007, 2, 17),
    2008: date(2008, 2, 7),
    2009: date(2009, 1, 26),
    2010: date(2010, 2, 14),
    2011: date(2011, 2, 3),
    2012: date(2012, 1, 23),
    2013: date(2013, 2, 10),
    2014: date(2014, 1, 31),
    2015: date(2015, 2, 19),
    2016: date(2016, 2, 8),
    2017: date(2017, 1, 28),
    2018: date(2018, 2, 16),
    2019: date(2019, 2, 5),
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 2),
    2053: date(2053, 2, 18),
}
# Years Vietnam's new year is not China's: Vietnam computes its lunar calendar at
# UTC+7 since 1967, China at UTC+8, so a new moon near midnight falls on different
# days (1968: the Tết offensive began on the North's Tết, a day before the South's;
# 1985: a month apart, after a different leap month). China's first day for each.
TET_UNLIKE_CHINA = {
    1968: date(1968, 1, 30),
    1985: date(1985, 2, 20),
    2007: date(2007, 2, 18),
    2030: date(2030, 2, 3),
    2053: date(2053, 2, 19),
}
# Hùng Kings' day (10th day of the 3rd lunar month), a paid day off since 2007.
HUNG_KINGS = {
    2007: date(2007, 4, 26),
    2008: date(2008, 4, 15),
    2009: date(2009, 4, 4),
    2010: date(2010, 4, 23),
    2011: date(2011, 4, 12),
    2012: date(2012, 3, 31),
    2013: date(2013, 4, 19),
    2014: date(2014, 4, 9),
    2015: date(2015, 4, 28),
    2016: date(2016, 4, 16),
    2017: date(2017, 4, 6),
    2018: date(2018, 4, 25),
    2019: date(2019, 4, 14),
    2020: date(2020, 4, 2),
    2021: date(2021, 4, 21),
    2022: date(2022, 4, 10),
    2023: date(2023, 4, 29),
    2024: date(2024, 4, 18),
    2025: date(2025, 4, 7),
    2026: date(2026, 4, 26),
    2027: date(2027, 4, 16),
    2028: date(2028, 4, 4),
    2029: date(2029, 4, 23),
    2030: date(2030, 4, 12),
}


def _tet_day(year: int) -> date:
    spans = [h for h in year_calendar(year) if h.key == "tet"]
    assert len(spans) == 1
    return next(s.day for s in spans[0].official if s.name_en == "Lunar New Year")


@pytest.mark.parametrize("year", sorted(TET))
def test_tet(year):
    assert _tet_day(year) == TET[year]


def _chinese_new_year(year: int) -> date:
    china = holidays_lib.China(years=year, language="en_US")
    return min(d for d, n in china.items() if n.startswith("Chinese New Year (Spring Festival)"))


@pytest.mark.parametrize("year", sorted(TET_UNLIKE_CHINA))
def test_tet_differs_from_chinese_new_year_in_these_years(year):
    assert _chinese_new_year(year) == TET_UNLIKE_CHINA[year]
    assert _tet_day(year) == TET[year]
    assert _tet_day(year) < TET_UNLIKE_CHINA[year]


def test_tet_is_chinese_new_year_in_every_other_year():
    """1970-2060: only the known years differ (the calendar is not China's with a new name)."""
    differ = {y for y in range(1970, 2061) if _tet_day(y) != _chinese_new_year(y)}
    assert differ == {1985, 2007, 2030, 2053}


@pytest.mark.parametrize("year", sorted(HUNG_KINGS))
def test_hung_kings_day(year):
    days = [
        s.day
        for h in year_calendar(year)
        for s in h.official
        if s.name_en == "Hung Kings' Commemoration Day"
    ]
    assert HUNG_KINGS[year] in days


def test_hung_kings_day_was_no_day_off_before_2007():
    assert [h.key for h in year_calendar(2006) if h.key == "hung-kings"] == []


def test_hung_kings_day_on_a_saturday_is_made_up_on_monday():
    """2012: 10/3 lunar fell on Saturday 31/3; Monday 2/4 was the day off in lieu."""
    span = next(h for h in year_calendar(2012) if h.key == "hung-kings")
    assert (span.start, span.end, span.ident()) == (
        date(2012, 3, 31),
        date(2012, 4, 2),
        "hung-kings-2012",
    )
    assert date(2012, 4, 2) in [s.day for s in span.official]


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
    assert span.ident() == "new-year-2027"  # the holiday's year, not its first day's


@pytest.mark.parametrize(
    ("year", "start", "end"),
    [
        (2017, date(2016, 12, 31), date(2017, 1, 2)),  # Sunday 1/1, made up on Monday
        (2018, date(2017, 12, 30), date(2018, 1, 1)),
        (2023, date(2022, 12, 31), date(2023, 1, 2)),
    ],
)
def test_new_year_that_begins_in_december_keeps_its_own_year(year, start, end):
    (span,) = [h for h in year_calendar(year) if h.ident() == f"new-year-{year}"]
    assert (span.start, span.end) == (start, end)
    assert find_holiday(f"new-year-{year}", date(year - 1, 12, 1)) == span


def test_ids_are_unique_over_many_years():
    spans = [h for year in range(2000, 2061) for h in year_calendar(year)]
    by_id = {}
    for h in spans:
        assert by_id.setdefault(h.ident(), h) == h, h.ident()  # a span listed in two years is one
    assert len(by_id) >= 61 * 5


def test_a_unit_day_off_id_carries_its_date(sample_org):
    local = next(h for h in year_calendar(2026, sample_org, "tcn-miennui") if h.key == "local")
    assert local.ident() == "local-2026-11-20"
    assert find_holiday("local-2026-11-20", date(2026, 11, 1), sample_org, "tcn-miennui") == local


def test_an_id_of_a_holiday_already_over_says_so():
    with pytest.raises(UsageError, match=r"\(tet-2026\) ended on 2026-02-22"):
        find_holiday("tet-2026", date(2026, 11, 30))


@pytest.mark.parametrize("year", [1900, 2101])
def test_years_the_calendar_does_not_cover_are_refused(year):
    with pytest.raises(UsageError, match=f"covers 1901 to 2100, not {year}"):
        year_calendar(year)
    with pytest.raises(UsageError, match="covers 1901 to 2100"):
        next_holiday(date(year, 6, 1))


def test_holidays_command_refuses_a_year_out_of_range(workspace, run_cli):
    result = run_cli("holidays", "-w", str(workspace.root), "--year", "1900")
    assert result.returncode == 2
    assert "the holiday calendar covers 1901 to 2100, not 1900" in result.stderr
    assert result.stdout == ""


def test_holidays_command_warns_when_the_register_is_broken(workspace, run_cli):
    org = workspace.inventory / "organization.yaml"
    org.write_text(org.read_text(encoding="utf-8").replace("units:", "unitz:", 1), "utf-8")
    result = run_cli("holidays", "-w", str(workspace.root), "--year", "2026")
    assert result.returncode == 0, result.output
    assert "tet-2026" in result.stdout  # the national calendar still lists
    assert "warning: the organisation's own days off are not listed: " in result.stderr
    assert "organization.yaml:" in result.stderr  # names the file and line


def test_holidays_command_outside_a_workspace(tmp_path, run_cli):
    result = run_cli("holidays", "-w", str(tmp_path / "nowhere"), "-y", "2027", "-f", "json")
    assert result.returncode == 0, result.output
    assert [r["id"] for r in json.loads(result.stdout)][:2] == ["new-year-2027", "tet-2027"]
    assert result.stderr == ""
