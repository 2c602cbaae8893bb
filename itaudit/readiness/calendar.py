"""The Vietnamese holiday calendar, as the incident-response team needs it.

Dates come from the maintained `holidays` package (Tết and the Hùng Kings'
day from the Vietnamese lunar calendar, days moved by government decision);
nothing here computes lunar dates. What this module adds is the *span* a team
must cover: official days off joined with the weekends and bridge days around
them (Tết 2026 is 16–20/02 officially, offices are empty 14–22/02), named in
Vietnamese and English, plus the organisation's and a unit's own extra days off.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import holidays as holidays_lib

from itaudit.errors import UsageError
from itaudit.org.model import DayOff, Organisation

# Most important first: a span that holds several is named after the first.
KEYS = (
    "tet",
    "national-day",
    "reunification",
    "hung-kings",
    "new-year",
    "culture-day",
    "local",
    "other",
)
_NAMES = {
    "tet": ("Tết Nguyên đán", "Lunar New Year (Tết)"),
    "national-day": ("Quốc khánh 2/9", "National Day (2 September)"),
    "reunification": (
        "Ngày Chiến thắng 30/4 và Quốc tế Lao động 1/5",
        "Reunification Day and Labour Day (30 April–1 May)",
    ),
    "hung-kings": (
        "Giỗ Tổ Hùng Vương (10/3 âm lịch)",
        "Hùng Kings' Commemoration Day (10th of the 3rd lunar month)",
    ),
    "new-year": ("Tết Dương lịch", "New Year's Day"),
    "culture-day": ("Ngày Văn hóa Việt Nam 24/11", "Vietnam Culture Day (24 November)"),
}
_STEMS = ("Giáp", "Ất", "Bính", "Đinh", "Mậu", "Kỷ", "Canh", "Tân", "Nhâm", "Quý")
_BRANCHES = ("Tý", "Sửu", "Dần", "Mão", "Thìn", "Tỵ", "Ngọ", "Mùi", "Thân", "Dậu", "Tuất", "Hợi")
_ANIMALS = (
    "Rat",
    "Buffalo",
    "Tiger",
    "Cat",
    "Dragon",
    "Snake",
    "Horse",
    "Goat",
    "Monkey",
    "Rooster",
    "Dog",
    "Pig",
)


def can_chi(lunar_year: int) -> str:
    """The sexagenary name of a lunar year: 2024 → Giáp Thìn, 2026 → Bính Ngọ."""
    return f"{_STEMS[(lunar_year - 4) % 10]} {_BRANCHES[(lunar_year - 4) % 12]}"


def _key_of(english_name: str) -> str | None:
    """Our key for a name of the `holidays` package (None: a bridge day joining a span)."""
    name = english_name.lower()
    if "lunar new year" in name:
        return "tet"
    if "hung kings" in name:
        return "hung-kings"
    if "reunification" in name or "labor day" in name or "labour day" in name:
        return "reunification"
    if "national day" in name:
        return "national-day"
    if "new year" in name:
        return "new-year"
    if "cultur" in name:
        return "culture-day"
    if name.startswith("day off"):
        return None
    return "other"


@dataclass(frozen=True)
class DayOffSource:
    day: date
    key: str | None
    name_vi: str
    name_en: str
    unit: str | None = None  # set for a unit's own day off


@dataclass(frozen=True)
class Holiday:
    """A span of consecutive days off that holds at least one holiday."""

    key: str
    name_vi: str
    name_en: str
    start: date
    end: date
    official: tuple[DayOffSource, ...]  # the holiday dates inside (not the weekends)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def name(self, lang: str = "vi") -> str:
        return self.name_vi if lang == "vi" else self.name_en

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end

    def ident(self) -> str:
        """A stable id such as `tet-2027`, usable on the command line.

        The year is the holiday's own, not the span's first day: New Year 2023
        begins on Saturday 31/12/2022 and is `new-year-2023`. A unit's own day
        off carries its date (`local-2026-11-20`), since a unit may have several.
        """
        day = next((s.day for s in self.official if s.key == self.key), self.start)
        if self.key in ("local", "other"):
            return f"{self.key}-{day.isoformat()}"
        return f"{self.key}-{day.year}"


# The years the `holidays` package computes Vietnam's calendar for (1901-2100);
# outside them it returns nothing, which must not read as "no holiday".
FIRST_YEAR: int = holidays_lib.Vietnam.start_year
LAST_YEAR: int = holidays_lib.Vietnam.end_year


def check_year(year: int) -> None:
    """UsageError for a year the calendar does not cover."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise UsageError(f"the holiday calendar covers {FIRST_YEAR} to {LAST_YEAR}, not {year}")


def _national(years: Iterable[int]) -> list[DayOffSource]:
    years = sorted(y for y in set(years) if FIRST_YEAR <= y <= LAST_YEAR)
    vi = holidays_lib.Vietnam(years=years, language="vi")
    en = holidays_lib.Vietnam(years=years, language="en_US")
    out = []
    for day, name_en in sorted(en.items()):
        out.append(DayOffSource(day, _key_of(name_en), vi.get(day, name_en), name_en))
    return out


def _declared(days_off: Iterable[DayOff], unit: str | None) -> list[DayOffSource]:
    return [DayOffSource(d.day, "local", d.name_vi, d.name_en, unit) for d in days_off]


def calendar(
    start: date, end: date, org: Organisation | None = None, unit: str | None = None
) -> list[Holiday]:
    """Holiday spans that overlap [start, end], for the department or one unit."""
    margin = timedelta(days=12)  # a span may begin before `start` and end after `end`
    sources = _national(range((start - margin).year, (end + margin).year + 1))
    if org is not None:
        sources += _declared(org.days_off, None)
        if unit is not None:
            found = org.unit(unit)
            if found is None:
                raise UsageError(
                    f"unknown unit {unit!r}; units: {', '.join(u.id for u in org.units)}"
                )
            sources += _declared(found.extra_days_off, unit)
    by_day: dict[date, list[DayOffSource]] = {}
    for src in sources:
        by_day.setdefault(src.day, []).append(src)
    spans: list[Holiday] = []
    day = start - margin
    while day <= end + margin:
        if day not in by_day:
            day += timedelta(days=1)
            continue
        first = day
        while first - timedelta(days=1) in by_day or (first - timedelta(days=1)).weekday() >= 5:
            first -= timedelta(days=1)
        last = day
        while last + timedelta(days=1) in by_day or (last + timedelta(days=1)).weekday() >= 5:
            last += timedelta(days=1)
        official = tuple(s for d in sorted(by_day) if first <= d <= last for s in by_day[d])
        spans.append(_name_span(first, last, official))
        day = last + timedelta(days=1)
    return [h for h in spans if h.end >= start and h.start <= end]


def _name_span(first: date, last: date, official: tuple[DayOffSource, ...]) -> Holiday:
    keys = [s.key for s in official if s.key]
    key = min(keys, key=KEYS.index) if keys else "other"
    if key == "tet":
        tet_day = next(
            s.day for s in official if s.key == "tet" and s.name_en.lower() == "lunar new year"
        )
        year = can_chi(tet_day.year)
        name_vi, name_en = f"Tết Nguyên đán {year}", f"Lunar New Year (Tết {year})"
    elif key in _NAMES:
        name_vi, name_en = _NAMES[key]
    else:
        chosen = next(s for s in official if s.key == key)
        name_vi, name_en = chosen.name_vi, chosen.name_en
    return Holiday(key, name_vi, name_en, first, last, official)


def year_calendar(
    year: int, org: Organisation | None = None, unit: str | None = None
) -> list[Holiday]:
    """The spans that have days in `year` (New Year's span may start in December)."""
    check_year(year)
    return [
        h
        for h in calendar(date(year, 1, 1), date(year, 12, 31), org, unit)
        if h.start.year == year or h.end.year == year
    ]


def next_holiday(today: date, org: Organisation | None = None, unit: str | None = None) -> Holiday:
    """The holiday under way today, or the next one."""
    check_year(today.year)
    for holiday in calendar(today, today + timedelta(days=400), org, unit):
        if holiday.end >= today:
            return holiday
    # Only past the calendar's last year: every year has New Year's Day.
    raise UsageError(f"no holiday after {today.isoformat()} in the calendar (up to {LAST_YEAR})")


def _fold(text: str) -> str:
    """Lower case without diacritics: 'Tết' and 'tet' are the same search."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(
        c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn"
    ).lower()


def find_holiday(
    name: str, today: date, org: Organisation | None = None, unit: str | None = None
) -> Holiday:
    """The next holiday (on or after today) whose key, id or name matches `name`.

    `tet`, `tet-2027`, `quoc khanh`, `National Day` all work; diacritics and
    case do not matter.
    """
    wanted = _fold(name.strip())
    if not wanted:
        raise UsageError("empty holiday name")
    check_year(today.year)
    spans = [h for h in calendar(today, today + timedelta(days=800), org, unit) if h.end >= today]
    for h in spans:
        if wanted in (h.key, h.ident()):
            return h
    for h in spans:
        if wanted in _fold(h.name_vi) or wanted in _fold(h.name_en):
            return h
    # An id of a holiday already over (tet-2026 in November 2026) says so.
    for h in calendar(today - timedelta(days=400), today, org, unit):
        if h.end < today and wanted == h.ident():
            raise UsageError(
                f"{h.name_en} ({h.ident()}) ended on {h.end.isoformat()}: readiness is for a "
                "holiday still to come"
            )
    keys = ", ".join(k for k in KEYS if k not in ("local", "other"))
    raise UsageError(
        f"no holiday matches {name!r} in the next two years (try one of: {keys}, "
        "or an id of itaudit holidays such as tet-2027)"
    )
