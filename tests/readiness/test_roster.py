"""The duty roster: its format's mistakes are file:line errors; gaps in the 24/7
duty, people on duty without a phone, and a team without lead or deputy are
found and named."""

from __future__ import annotations

import dataclasses
import textwrap
from datetime import date, datetime, time

import pytest

from itaudit.errors import InputError
from itaudit.readiness.roster import Gap, gaps, load_roster, roster_problems

TET = (date(2027, 2, 4), date(2027, 2, 10))


def write(tmp_path, text: str):
    path = tmp_path / "duty-roster.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(exc: pytest.ExceptionInfo) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_member_shift_takes_name_and_phone_from_the_team(tmp_path, sample_org) -> None:
    path = write(
        tmp_path, 'duty:\n  2027-02-04:\n    - {member: m03, from: "07:00", to: "19:00"}\n'
    )
    roster = load_roster(path, sample_org.team)
    (s,) = roster.shifts
    assert (s.name, s.phone, s.member_id) == ("Nguyễn Văn Quang", "0912 738 045", "m03")
    assert (s.start, s.end) == (datetime(2027, 2, 4, 7), datetime(2027, 2, 4, 19))


def test_overnight_shift_runs_into_the_next_day(tmp_path, sample_org) -> None:
    path = write(
        tmp_path, 'duty:\n  2027-02-04:\n    - {member: m03, from: "19:00", to: "07:00"}\n'
    )
    (s,) = load_roster(path, sample_org.team).shifts
    assert (s.start, s.end) == (datetime(2027, 2, 4, 19), datetime(2027, 2, 5, 7))
    assert s.hours == "19:00–07:00"


def test_unquoted_times_yaml_reads_as_numbers_are_accepted(tmp_path, sample_org) -> None:
    # YAML 1.1 reads 19:00 as 1140 (base 60) and 07:30 as text.
    path = write(tmp_path, "duty:\n  2027-02-04:\n    - {member: m03, from: 07:30, to: 19:00}\n")
    (s,) = load_roster(path, sample_org.team).shifts
    assert (s.start.time(), s.end.time()) == (time(7, 30), time(19, 0))


def test_to_midnight(tmp_path, sample_org) -> None:
    path = write(
        tmp_path, 'duty:\n  2027-02-04:\n    - {member: m03, from: "12:00", to: "24:00"}\n'
    )
    (s,) = load_roster(path, sample_org.team).shifts
    assert s.end == datetime(2027, 2, 5, 0, 0)
    assert s.hours == "12:00–24:00"


def test_unknown_member_names_the_line(tmp_path, sample_org) -> None:
    path = write(
        tmp_path,
        """\
        duty:
          2027-02-04:
            - {member: m03, from: "07:00", to: "19:00"}
            - {member: m99, from: "19:00", to: "07:00"}
        """,
    )
    with pytest.raises(InputError) as exc:
        load_roster(path, sample_org.team)
    (message,) = problems_of(exc)
    assert message.startswith(
        f"{path}:4: member: 'm99' is not a member of inventory/incident-team.yaml"
    )


def test_every_mistake_at_once_with_its_line(tmp_path, sample_org) -> None:
    path = write(
        tmp_path,
        """\
        title: Lịch trực
        duty:
          "4/2/2027":
            - {member: m03, from: "07:00", to: "19:00"}
          2027-02-04:
            - {member: m03, from: "7h", to: "19:00"}
            - {name: Lê Văn Bình, phone: "gọi bảo vệ", from: "19:00", to: "07:00"}
            - {from: "00:00", to: "07:00"}
            - {member: m03, name: Lê Văn Bình, from: "00:00", to: "07:00"}
            - {member: m04, from: "00:00", to: "07:00", shift: night}
            - {member: m04, from: "24:00", to: "07:00"}
        owner: m01
        """,
    )
    with pytest.raises(InputError) as exc:
        load_roster(path, sample_org.team)
    assert problems_of(exc) == [
        f"{path}:12: owner: unknown key (allowed: title, duty)",
        f"{path}:3: duty: '4/2/2027' is not a date (YYYY-MM-DD)",
        f"{path}:6: from: '7h' is not a time of day (HH:MM, 00:00 to 24:00)",
        f"{path}:7: phone: 'gọi bảo vệ' is not a telephone number",
        f"{path}:8: member: a shift needs the person on duty: member: ID, or name (and phone)",
        f"{path}:9: member: a shift names a team member (member: ID) or a person (name, phone), not both",
        f"{path}:10: shift: unknown key in a shift (allowed: member, name, phone, title, from, to, note)",
        f"{path}:11: from: '24:00' is not a time of day (HH:MM, 00:00 to 24:00)",
    ]


def test_impossible_date_names_the_line(tmp_path, sample_org) -> None:
    path = write(
        tmp_path, 'duty:\n  2027-02-30:\n    - {member: m03, from: "07:00", to: "19:00"}\n'
    )
    with pytest.raises(InputError) as exc:
        load_roster(path, sample_org.team)
    assert problems_of(exc) == [
        f"{path}:2: invalid YAML: '2027-02-30' is not a valid date (day is out of range for month)"
    ]


def test_not_a_mapping(tmp_path, sample_org) -> None:
    path = write(tmp_path, "- 2027-02-04\n")
    with pytest.raises(InputError, match="a duty roster is a mapping"):
        load_roster(path, sample_org.team)


def test_missing_file(tmp_path, sample_org) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_roster(tmp_path / "nope.yaml", sample_org.team)


def test_bad_yaml_names_the_line(tmp_path, sample_org) -> None:
    path = write(tmp_path, 'duty:\n  2027-02-04:\n    - {member: m03, from: "07:00", to: "19:00"\n')
    with pytest.raises(InputError) as exc:
        load_roster(path, sample_org.team)
    assert problems_of(exc)[0].startswith(f"{path}:")


# -- coverage -----------------------------------------------------------------------------------
def test_a_holiday_day_without_duty_is_named(tmp_path, sample_org) -> None:
    days = "".join(
        f'  2027-02-{d:02d}:\n    - {{member: m0{d - 2}, from: "00:00", to: "24:00"}}\n'
        for d in (4, 5, 7, 8, 9, 10)
    )
    roster = load_roster(write(tmp_path, "duty:\n" + days), sample_org.team)
    problems = roster_problems(sample_org.team, roster, *TET)
    assert [(p.kind, p.day) for p in problems] == [("no-duty-day", date(2027, 2, 6))]


def test_hours_without_duty_are_named(tmp_path, sample_org) -> None:
    roster = load_roster(
        write(
            tmp_path,
            """\
            duty:
              2027-02-04:
                - {member: m03, from: "07:00", to: "12:00"}
                - {member: m04, from: "11:00", to: "19:00"}
                - {member: m05, from: "20:00", to: "06:00"}
            """,
        ),
        sample_org.team,
    )
    assert gaps(roster.shifts, date(2027, 2, 4), date(2027, 2, 5)) == [
        Gap(date(2027, 2, 4), time(0, 0), time(7, 0)),
        Gap(date(2027, 2, 4), time(19, 0), time(20, 0)),
        Gap(date(2027, 2, 5), time(6, 0), None),
    ]
    problems = roster_problems(sample_org.team, roster, date(2027, 2, 4), date(2027, 2, 4))
    assert [(p.kind, p.day, p.hours) for p in problems] == [
        ("gap", date(2027, 2, 4), "00:00–07:00"),
        ("gap", date(2027, 2, 4), "19:00–20:00"),
    ]


def test_a_person_on_duty_without_a_phone_is_named(tmp_path, sample_org) -> None:
    roster = load_roster(
        write(
            tmp_path,
            """\
            duty:
              2027-02-04:
                - {member: m03, from: "00:00", to: "12:00"}
                - {name: Lê Văn Bình, title: Bảo vệ, from: "12:00", to: "24:00"}
              2027-03-01:
                - {name: Trần Văn Cường, from: "00:00", to: "24:00"}
            """,
        ),
        sample_org.team,
    )
    problems = roster_problems(sample_org.team, roster, date(2027, 2, 4), date(2027, 2, 4))
    (p,) = problems  # Trần Văn Cường has no phone either, but is not on duty over the holiday
    assert (p.kind, p.person) == ("no-phone", "Lê Văn Bình")
    assert [s.hours for s in p.shifts] == ["12:00–24:00"]


def test_a_team_member_without_a_phone_is_named(tmp_path, sample_org) -> None:
    members = tuple(
        dataclasses.replace(m, phone=None) if m.id == "m05" else m for m in sample_org.team.members
    )
    team = dataclasses.replace(sample_org.team, members=members)
    roster = load_roster(
        write(tmp_path, 'duty:\n  2027-02-04:\n    - {member: m05, from: "00:00", to: "24:00"}\n'),
        team,
    )
    (p,) = roster_problems(team, roster, date(2027, 2, 4), date(2027, 2, 4))
    assert (p.kind, p.person) == ("no-phone", "Lê Anh Dũng")


def test_no_deputy_lead(sample_org) -> None:
    members = tuple(
        dataclasses.replace(m, role="member") if m.role == "deputy_lead" else m
        for m in sample_org.team.members
    )
    team = dataclasses.replace(sample_org.team, members=members)
    kinds = [p.kind for p in roster_problems(team, None, *TET)]
    assert kinds == ["no-deputy", "no-roster"]


def test_no_lead_and_lead_without_phone(sample_org) -> None:
    members = tuple(
        dataclasses.replace(m, role="member")
        if m.role == "lead"
        else dataclasses.replace(m, phone=None)
        if m.role == "deputy_lead"
        else m
        for m in sample_org.team.members
    )
    team = dataclasses.replace(sample_org.team, members=members)
    problems = roster_problems(team, None, *TET)
    assert [(p.kind, p.person) for p in problems] == [
        ("no-lead", None),
        ("deputy-no-phone", "Phạm Minh Tuấn"),
        ("no-roster", None),
    ]


def test_no_team(sample_org) -> None:
    assert [p.kind for p in roster_problems(None, None, *TET)] == ["no-team", "no-roster"]


# -- the bundled sample ---------------------------------------------------------------------------
def test_sample_roster_covers_tet_2027_around_the_clock(sample_org) -> None:
    from itaudit.workspace import sample_root

    roster = load_roster(sample_root() / "inventory" / "duty-roster.yaml", sample_org.team)
    assert roster_problems(sample_org.team, roster, *TET) == []
    assert len(roster.during(*TET)) == 15  # the night shift of 03/02 reaches into 04/02


def test_sample_roster_leaves_2_january_2027_without_duty(sample_org) -> None:
    from itaudit.workspace import sample_root

    roster = load_roster(sample_root() / "inventory" / "duty-roster.yaml", sample_org.team)
    problems = roster_problems(sample_org.team, roster, date(2027, 1, 1), date(2027, 1, 3))
    assert [(p.kind, p.day) for p in problems] == [("no-duty-day", date(2027, 1, 2))]
