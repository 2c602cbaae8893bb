"""The incident-response team's duty roster over a holiday, and what is wrong with it.

`inventory/duty-roster.yaml` (or `itaudit readiness --roster FILE`):

    title: Lịch trực ứng cứu sự cố dịp nghỉ lễ        # optional
    duty:
      2026-11-24:                                     # a date (YYYY-MM-DD) -> its shifts
        - {member: m02, from: "07:30", to: "17:00"}   # a member of inventory/incident-team.yaml
        - {name: Lê Văn Bình, phone: "0912 345 678", title: Bảo vệ, from: "17:00", to: "07:30"}

A shift whose `to` is not after its `from` runs past midnight into the next
day (19:00 to 07:00); `to: "24:00"` ends at midnight. Times are local. A person
is a team member (`member: ID`, whose phone comes from the team file) or given
inline (`name`, and a `phone` that should be there: a missing phone is not a
file error but a readiness blocker, so the team sees it named).

The file's mistakes (unknown key, bad date or time, unknown member, a shift
naming nobody) are `InputError`s with file and line; gaps in the duty and
people without phones are `RosterProblem`s the readiness checklist reports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from itaudit.errors import InputError, Problem
from itaudit.org.model import IncidentTeam
from itaudit.yamlfile import LineDict, LineList, load_yaml

ROSTER_FILE = "duty-roster.yaml"
# The same telephone shape organization.yaml and incident-team.yaml accept.
PHONE_RE = re.compile(r"^\+?[0-9][0-9 .-]{7,18}[0-9]$")
_TIME_RE = re.compile(r"^([01]?[0-9]|2[0-4]):([0-5][0-9])$")
_SHIFT_KEYS = ("member", "name", "phone", "title", "from", "to", "note")
_TEXT_MAX = 200
MAX_SHIFTS = 5000


@dataclass(frozen=True)
class Shift:
    """One person on duty from `start` to `end` (local times)."""

    day: date  # the date the shift is listed under
    start: datetime
    end: datetime
    name: str
    member_id: str | None = None
    phone: str | None = None
    title: str | None = None
    note: str | None = None
    source: str = ""
    line: int = 0

    def overlaps(self, first: date, last: date) -> bool:
        begin = datetime.combine(first, time())
        finish = datetime.combine(last + timedelta(days=1), time())
        return self.start < finish and self.end > begin

    @property
    def hours(self) -> str:
        """07:30–17:00 (an end at midnight shows as 24:00)."""
        end = "24:00" if self.end.time() == time() else self.end.strftime("%H:%M")
        return f"{self.start:%H:%M}–{end}"


@dataclass(frozen=True)
class Roster:
    source: str
    title: str | None
    shifts: tuple[Shift, ...]

    def during(self, first: date, last: date) -> list[Shift]:
        """The shifts that overlap the days first..last, in time order."""
        return sorted(
            (s for s in self.shifts if s.overlaps(first, last)), key=lambda s: (s.start, s.name)
        )


@dataclass(frozen=True)
class Gap:
    """Time of a holiday day with nobody on duty (end at midnight: 24:00)."""

    day: date
    start: time
    end: time | None  # None: midnight at the end of the day

    @property
    def whole_day(self) -> bool:
        return self.start == time() and self.end is None

    @property
    def hours(self) -> str:
        return f"{self.start:%H:%M}–{'24:00' if self.end is None else self.end.strftime('%H:%M')}"


@dataclass(frozen=True)
class RosterProblem:
    """Something that leaves the team short over the holiday.

    kind: no-team, no-lead, no-deputy, lead-no-phone, deputy-no-phone,
    no-roster, no-duty-day, gap, no-phone.
    """

    kind: str
    day: date | None = None
    hours: str | None = None
    person: str | None = None
    shifts: tuple[Shift, ...] = ()  # for no-phone: the person's shifts during the holiday


# -- loading -----------------------------------------------------------------------------------
def _time(value: Any) -> tuple[int, int] | None:
    """(hour, minute) from "07:30", or from the number YAML makes of an unquoted 19:00."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        # YAML 1.1 reads an unquoted 19:00 as the sexagesimal number 1140.
        return divmod(value, 60) if 0 <= value <= 24 * 60 else None
    if isinstance(value, str):
        m = _TIME_RE.match(value.strip())
        if m:
            hour, minute = int(m.group(1)), int(m.group(2))
            return None if hour == 24 and minute else (hour, minute)
    return None


def _text(node: LineDict, key: str, source: str, problems: list[Problem]) -> str | None:
    value = node.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        problems.append(Problem(source, "must be text", node.line_of(key), key))
        return None
    text = " ".join(str(value).split())
    if len(text) > _TEXT_MAX:
        problems.append(
            Problem(source, f"longer than {_TEXT_MAX} characters", node.line_of(key), key)
        )
        return None
    return text or None


def _day_key(value: Any) -> date | None:
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _shift(
    node: LineDict, day: date, team: IncidentTeam | None, source: str, problems: list[Problem]
) -> Shift | None:
    before = len(problems)
    for key in node:
        if key not in _SHIFT_KEYS:
            problems.append(
                Problem(
                    source,
                    f"unknown key in a shift (allowed: {', '.join(_SHIFT_KEYS)})",
                    node.line_of(key),
                    str(key),
                )
            )
    bounds = []
    for key in ("from", "to"):
        if key not in node:
            problems.append(Problem(source, 'is required ("HH:MM")', node.line, key))
            continue
        parsed = _time(node[key])
        if parsed is None or (key == "from" and parsed[0] == 24):
            problems.append(
                Problem(
                    source,
                    f"{node[key]!r} is not a time of day (HH:MM, 00:00 to 24:00)",
                    node.line_of(key),
                    key,
                )
            )
            continue
        bounds.append(parsed)
    member_id = _text(node, "member", source, problems)
    name = _text(node, "name", source, problems)
    phone = _text(node, "phone", source, problems)
    title = _text(node, "title", source, problems)
    note = _text(node, "note", source, problems)
    if member_id and (name or phone):
        problems.append(
            Problem(
                source,
                "a shift names a team member (member: ID) or a person (name, phone), not both",
                node.line_of("member"),
                "member",
            )
        )
    elif member_id:
        member = team.member(member_id) if team is not None else None
        if member is None:
            known = ", ".join(m.id for m in team.members) if team is not None else "no team file"
            problems.append(
                Problem(
                    source,
                    f"{member_id!r} is not a member of inventory/incident-team.yaml ({known})",
                    node.line_of("member"),
                    "member",
                )
            )
        else:
            name, phone, title = member.name, member.phone, title or member.title
    elif not name:
        problems.append(
            Problem(
                source,
                "a shift needs the person on duty: member: ID, or name (and phone)",
                node.line,
                "member",
            )
        )
    if phone and not PHONE_RE.match(phone):
        key = "phone" if "phone" in node else "member"
        problems.append(
            Problem(source, f"{phone!r} is not a telephone number", node.line_of(key), key)
        )
    if len(problems) > before or len(bounds) != 2 or not name:
        return None
    (h1, m1), (h2, m2) = bounds
    start = datetime.combine(day, time(h1, m1))
    end = datetime.combine(day, time()) + timedelta(hours=h2, minutes=m2)
    if end <= start:
        end += timedelta(days=1)  # past midnight into the next day
    return Shift(day, start, end, name, member_id, phone, title, note, source, node.line)


def load_roster(path: Path, team: IncidentTeam | None) -> Roster:
    """Read and check a roster file; every mistake at once, as InputError with file:line."""
    source = str(path)
    if not path.is_file():
        raise InputError(Problem(source, "no such file"))
    doc = load_yaml(path)
    problems: list[Problem] = []
    if not isinstance(doc, LineDict):
        raise InputError(
            Problem(source, "a duty roster is a mapping: title, duty (date -> shifts)")
        )
    for key in doc:
        if key not in ("title", "duty"):
            problems.append(
                Problem(source, "unknown key (allowed: title, duty)", doc.line_of(key), str(key))
            )
    title = _text(doc, "title", source, problems)
    duty = doc.get("duty")
    shifts: list[Shift] = []
    if not isinstance(duty, LineDict):
        problems.append(
            Problem(
                source,
                "is required: a mapping of dates (YYYY-MM-DD) to lists of shifts",
                doc.line_of("duty"),
                "duty",
            )
        )
    else:
        for key, items in duty.items():
            day = _day_key(key)
            if day is None:
                problems.append(
                    Problem(
                        source, f"{key!r} is not a date (YYYY-MM-DD)", duty.line_of(key), "duty"
                    )
                )
                continue
            if not isinstance(items, LineList):
                problems.append(
                    Problem(
                        source,
                        "must be a list of shifts: - {member: ID, from: HH:MM, to: HH:MM}",
                        duty.line_of(key),
                        str(day),
                    )
                )
                continue
            for i, item in enumerate(items):
                if not isinstance(item, LineDict):
                    problems.append(
                        Problem(source, "a shift must be a mapping", items.line_of(i), str(day))
                    )
                    continue
                shift = _shift(item, day, team, source, problems)
                if shift is not None:
                    shifts.append(shift)
            if len(shifts) > MAX_SHIFTS:
                problems.append(Problem(source, f"more than {MAX_SHIFTS} shifts"))
                break
    if problems:
        raise InputError(problems)
    return Roster(source, title, tuple(shifts))


# -- what is wrong over a holiday ------------------------------------------------------------------
def gaps(shifts: Iterable[Shift], first: date, last: date) -> list[Gap]:
    """The times of days first..last that no shift covers, split at midnight."""
    begin = datetime.combine(first, time())
    finish = datetime.combine(last + timedelta(days=1), time())
    covered: list[tuple[datetime, datetime]] = []
    for s in sorted(shifts, key=lambda s: s.start):
        start, end = max(s.start, begin), min(s.end, finish)
        if start >= end:
            continue
        if covered and start <= covered[-1][1]:
            covered[-1] = (covered[-1][0], max(covered[-1][1], end))
        else:
            covered.append((start, end))
    holes: list[tuple[datetime, datetime]] = []
    cursor = begin
    for start, end in covered:
        if start > cursor:
            holes.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < finish:
        holes.append((cursor, finish))
    out: list[Gap] = []
    for start, end in holes:
        while start < end:
            midnight = datetime.combine(start.date() + timedelta(days=1), time())
            stop = min(end, midnight)
            out.append(Gap(start.date(), start.time(), None if stop == midnight else stop.time()))
            start = stop
    return out


def roster_problems(
    team: IncidentTeam | None, roster: Roster | None, first: date, last: date
) -> list[RosterProblem]:
    """Everything that leaves the holiday first..last without a reachable team."""
    out: list[RosterProblem] = []
    if team is None:
        out.append(RosterProblem("no-team"))
    else:
        for role, missing, no_phone in (
            (team.lead(), "no-lead", "lead-no-phone"),
            (team.deputy_lead(), "no-deputy", "deputy-no-phone"),
        ):
            if role is None:
                out.append(RosterProblem(missing))
            elif not role.phone:
                out.append(RosterProblem(no_phone, person=role.name))
    if roster is None:
        out.append(RosterProblem("no-roster"))
        return out
    for gap in gaps(roster.shifts, first, last):
        if gap.whole_day:
            out.append(RosterProblem("no-duty-day", day=gap.day))
        else:
            out.append(RosterProblem("gap", day=gap.day, hours=gap.hours))
    without_phone: dict[str, list[Shift]] = {}
    for s in roster.during(first, last):
        if not s.phone:
            without_phone.setdefault(s.name, []).append(s)
    for name, shifts in without_phone.items():
        out.append(RosterProblem("no-phone", person=name, shifts=tuple(shifts)))
    return out
