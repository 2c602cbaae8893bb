"""`--diff` rules: pairing devices across scans and comparing their ports."""

from __future__ import annotations

from itaudit.scan.diff import diff_scans
from itaudit.scan.records import Observation, Port

OPTS = {"ports": [22, 80, 3389]}


def _diff(before, after, before_opts=OPTS, after_opts=OPTS):
    return diff_scans(1, None, before, before_opts, after, after_opts)


def test_appeared_and_gone_by_address_without_macs():
    d = _diff(
        [Observation("10.0.0.1"), Observation("10.0.0.2")],
        [Observation("10.0.0.2"), Observation("10.0.0.3")],
    )
    assert [o.address for o in d.appeared] == ["10.0.0.3"]
    assert [o.address for o in d.gone] == ["10.0.0.1"]


def test_a_device_that_changed_address_is_paired_by_mac():
    d = _diff(
        [Observation("10.0.0.1", mac="00:14:22:00:00:01")],
        [Observation("10.0.0.9", mac="00:14:22:00:00:01")],
    )
    assert (d.appeared, d.gone) == ((), ())
    assert [(was.address, now.address) for was, now in d.moved] == [("10.0.0.1", "10.0.0.9")]


def test_another_device_on_the_same_address_is_a_new_device():
    d = _diff(
        [Observation("10.0.0.1", mac="00:14:22:00:00:01")],
        [Observation("10.0.0.1", mac="00:14:22:00:00:02")],
    )
    assert [o.mac for o in d.appeared] == ["00:14:22:00:00:02"]
    assert [o.mac for o in d.gone] == ["00:14:22:00:00:01"]


def test_newly_open_and_closed_ports():
    d = _diff(
        [Observation("10.0.0.1", open_ports=(Port(22),))],
        [Observation("10.0.0.1", open_ports=(Port(80), Port(3389)))],
    )
    assert [c.ports for c in d.newly_open] == [(80, 3389)]
    assert [c.ports for c in d.newly_closed] == [(22,)]


def test_only_ports_both_scans_checked_are_compared():
    d = _diff(
        [Observation("10.0.0.1")],
        [Observation("10.0.0.1", open_ports=(Port(22), Port(8080)))],
        before_opts={"ports": [22]},
        after_opts={"ports": [22, 8080]},
    )
    assert [c.ports for c in d.newly_open] == [(22,)]


def test_no_change_is_empty():
    same = [Observation("10.0.0.1", open_ports=(Port(22),))]
    assert _diff(same, same).empty


def test_methods_bucket_changes_and_gone_devices_the_state_still_counts():
    secret = Observation("10.0.0.5", mac="00:14:22:00:00:05", bucket="forbidden")
    moved_on = Observation("10.0.0.5", mac="00:14:22:00:00:05", bucket="unknown")
    printer = Observation("10.0.0.6", mac="30:05:5c:00:00:06", bucket="registered")
    kept = Observation(
        "10.0.0.6", mac="30:05:5c:00:00:06", bucket="registered", seen_scan_id=1
    )  # not seen by the weaker scan, carried in its state
    d = _diff(
        [secret, printer],
        [moved_on, kept],
        {**OPTS, "privileged": True},
        {**OPTS, "method": "connect"},
    )
    assert d.methods == ("raw", "connect") and d.methods_differ
    assert d.bucket_changes == ((secret, moved_on),)
    assert [o.address for o in d.gone] == ["10.0.0.6"] and d.still_counted == {"10.0.0.6"}
    from itaudit.scan.view import diff_lines

    text = "\n".join(diff_lines(d, "en"))
    assert (
        "the two scans used different methods: before raw packets (root, ARP), now TCP connect"
        in text
    )
    assert "bucket changed: 10.0.0.5 (00:14:22:00:00:05) FORBIDDEN → unknown" in text
    assert "this scan cannot show it absent: still counted" in text


def test_same_method_no_note():
    d = _diff(
        [Observation("10.0.0.1")], [Observation("10.0.0.1")], {"method": "raw"}, {"method": "raw"}
    )
    assert not d.methods_differ and d.empty
