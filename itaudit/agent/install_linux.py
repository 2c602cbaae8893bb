"""`itaudit agent install --platform linux`: a systemd service and timer.

The timer starts the service daily at the unit's hour (with a random delay,
so a unit's machines do not push at once) and a few minutes after start-up;
the service runs `itaudit agent collect --push ... --queue ...`, which keeps a
report it cannot send and sends it on the next run. `--print` shows the
units; installing writes them, the collector's certificate and the enrolment
secret (0600) under /etc, then enables the timer with systemctl.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from itaudit.errors import ItauditError, UsageError

SERVICE = "itaudit-collect.service"
TIMER = "itaudit-collect.timer"
ETC = Path("/etc/itaudit")
QUEUE = Path("/var/lib/itaudit/queue")


@dataclass(frozen=True)
class LinuxInstall:
    unit: str
    collector: str
    cafile: Path
    secret_file: Path | None = None
    hour: int = 10
    random_delay: int = 60
    boot_delay: int = 10
    queue_limit: int = 30
    command: tuple[str, ...] = field(default_factory=lambda: default_command())


def default_command() -> tuple[str, ...]:
    """How the service starts itaudit: the installed script, else this interpreter."""
    found = shutil.which("itaudit")
    if found:
        return (str(Path(found).resolve()),)
    return (sys.executable, "-m", "itaudit")


def systemd_quote(arg: str) -> str:
    """One ExecStart word: `%` and `$` escaped (specifiers, variables), quoted when needed."""
    if any(c in arg for c in "\n\r\x00"):
        raise UsageError(f"{arg!r}: a setting cannot hold a line break")
    text = arg.replace("%", "%%").replace("$", "$$")
    if not text or any(c.isspace() or c in "\"'\\;" for c in text):
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def exec_argv(cfg: LinuxInstall) -> list[str]:
    argv = [
        *cfg.command,
        "agent",
        "collect",
        "--unit",
        cfg.unit,
        "--push",
        cfg.collector,
        "--cafile",
        str(ETC / "collector-cert.pem"),
        "--queue",
        str(QUEUE),
        "--queue-limit",
        str(cfg.queue_limit),
    ]
    if cfg.secret_file is not None:
        argv += ["--token-file", str(ETC / "enrolment-secret")]
    return argv


def render(cfg: LinuxInstall) -> dict[str, str]:
    import jinja2

    env = jinja2.Environment(
        autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    values = {
        "unit": cfg.unit,
        "exec_start": " ".join(systemd_quote(a) for a in exec_argv(cfg)),
        "etc_dir": str(ETC),
        "hour": int(cfg.hour),
        "random_delay": int(cfg.random_delay),
        "boot_delay": int(cfg.boot_delay),
    }
    folder = resources.files("itaudit.agent").joinpath("templates")
    return {
        name: env.from_string(folder.joinpath(name).read_text("utf-8")).render(values)
        for name in (SERVICE, TIMER)
    }


def _under(root: Path, path: Path) -> Path:
    return root / path.relative_to("/")


def install(cfg: LinuxInstall, root: Path = Path("/"), *, enable: bool = True) -> list[str]:
    """Write the units and their files under `root`; enable the timer when `root` is /.

    Returns what was done, one line each. Running it again replaces the same files.
    """
    done: list[str] = []
    units = render(cfg)
    system_dir = _under(root, Path("/etc/systemd/system"))
    etc, queue = _under(root, ETC), _under(root, QUEUE)
    try:
        system_dir.mkdir(parents=True, exist_ok=True)
        for name, text in units.items():
            (system_dir / name).write_text(text, encoding="utf-8")
            done.append(f"wrote {system_dir / name}")
        etc.mkdir(parents=True, exist_ok=True)
        os.chmod(etc, 0o700)  # the agent's key and the secret live here
        shutil.copyfile(cfg.cafile, etc / "collector-cert.pem")
        done.append(f"copied the collector's certificate to {etc / 'collector-cert.pem'}")
        if cfg.secret_file is not None:
            from itaudit.agent.install_windows import write_secret

            secret = cfg.secret_file.read_text(encoding="utf-8").strip()
            write_secret(etc / "enrolment-secret", secret + "\n")
            done.append(f"wrote the enrolment secret to {etc / 'enrolment-secret'} (mode 600)")
        queue.mkdir(parents=True, exist_ok=True)
        os.chmod(queue, 0o700)
        done.append(f"queue for reports not yet sent: {queue}")
    except OSError as exc:
        raise ItauditError(f"cannot install: {exc.strerror or exc} ({exc.filename})") from exc
    if enable and root == Path("/"):
        for argv in (["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", TIMER]):
            _systemctl(argv)
            done.append("ran " + " ".join(argv))
    else:
        done.append(f"not enabled: run systemctl daemon-reload && systemctl enable --now {TIMER}")
    return done


def _systemctl(argv: Sequence[str]) -> None:
    try:
        result = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ItauditError(f"{' '.join(argv)}: {exc}") from exc
    if result.returncode != 0:
        raise ItauditError(
            f"{' '.join(argv)} failed ({result.stderr.strip()[:300] or result.returncode}); "
            "the units are written: enable the timer by hand once systemd runs"
        )
