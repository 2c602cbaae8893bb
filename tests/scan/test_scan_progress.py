"""How `itaudit scan` shows nmap's progress on stderr: one line rewritten in place on
a terminal, a line every few seconds in a log."""

from __future__ import annotations

from itaudit.cli.scan_cmd import _ProgressPrinter
from itaudit.scan.nmap_runner import Progress


def _p(elapsed: float, done: int, phase: str | None = "SYN Stealth Scan") -> Progress:
    return Progress(elapsed, done, 256, 3, phase, 40.0 if phase else None)


def test_a_terminal_gets_one_line_rewritten_and_ended_when_stopped(capsys):
    printer = _ProgressPrinter("en")
    printer.tty = True
    printer(_p(1, 0))
    printer(_p(2, 10))
    printer.end_line()
    err = capsys.readouterr().err
    assert err.count("\r") == 2
    assert err.endswith("\n") and err.count("\n") == 1
    assert "nmap: 10/256 addresses done (3 up), SYN Stealth Scan 40%, 0:02 elapsed" in err


def test_the_final_line_ends_itself(capsys):
    printer = _ProgressPrinter("vi")
    printer.tty = True
    printer(_p(75, 256, "done"))
    printer.end_line()  # nothing more to end
    err = capsys.readouterr().err
    assert (
        err == "\r" + "nmap: 256/256 địa chỉ xong (3 đang bật), 1:15 đã trôi qua".ljust(78) + "\n"
    )


def test_a_log_gets_the_first_line_then_one_every_few_seconds(capsys, monkeypatch):
    clock = iter([100.0, 101.0, 104.0, 106.0])
    monkeypatch.setattr("itaudit.cli.scan_cmd.time.monotonic", lambda: next(clock))
    printer = _ProgressPrinter("en")
    printer.tty = False
    for seconds in (1, 2, 5, 7):
        printer(_p(seconds, seconds))
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(",")[-1] for line in lines] == [" 0:01 elapsed", " 0:07 elapsed"]
