"""`itaudit agent install --platform windows`: the installer kit for a Windows machine.

Written into a folder (a USB stick, or a share a domain start-up script reads):
install-itaudit.ps1, uninstall-itaudit.ps1, run.ps1 (what the scheduled task
runs), collect.ps1 (the collector) and, for push mode, enrolment-secret.txt.
Nothing runs here: the officer runs install-itaudit.ps1 once per machine as
administrator. The scripts are tested as text (the PowerShell grammar test).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from itaudit.agent.push import collector_url
from itaudit.agent.windows_live import collector_script
from itaudit.errors import UsageError

TASK_NAME = "itaudit collect"
BUNDLES_PATH = "/api/v1/bundles"
# PowerShell closes a single-quoted string at any of these quote characters.
_PS_QUOTES = "'\u2018\u2019\u201a\u201b"


@dataclass(frozen=True)
class WindowsKit:
    unit: str
    mode: str  # push | share
    collector: str | None = None  # https://HOST:8443
    cafile: Path | None = None
    secret: str | None = None
    share: str | None = None  # \\server\itaudit$
    hour: int = 10
    random_delay: int = 60
    queue_limit: int = 30


def ps_quote(value: object) -> str:
    """A PowerShell single-quoted literal: every quote character doubled, nothing expanded."""
    text = str(value)
    if any(c in text for c in "\r\n\x00"):
        raise UsageError(f"{text!r}: a setting cannot hold a line break")
    return "'" + "".join(c + c if c in _PS_QUOTES else c for c in text) + "'"


def certificate_sha256(cafile: Path) -> str:
    try:
        cert = x509.load_pem_x509_certificate(cafile.read_bytes())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{cafile}: not a PEM certificate ({exc})") from exc
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def _template(name: str) -> str:
    return resources.files("itaudit.agent").joinpath(f"templates/{name}").read_text("utf-8")


def render(kit: WindowsKit) -> dict[str, str]:
    """File name -> text of the kit (without the secret file)."""
    import jinja2

    if kit.mode == "push":
        if not kit.collector or kit.cafile is None:
            raise UsageError(
                "push mode needs --collector URL and --cafile (the collector's certificate)"
            )
        try:
            endpoint = collector_url(kit.collector).replace("/api/v1/reports", BUNDLES_PATH)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        if not endpoint.startswith("https://"):
            raise UsageError("the Windows task pushes over HTTPS only (the certificate is pinned)")
        cert = certificate_sha256(kit.cafile)
    elif kit.mode == "share":
        if not kit.share:
            raise UsageError("share mode needs --share \\\\SERVER\\FOLDER")
        endpoint, cert = "", ""
    else:
        raise UsageError(f"unknown mode {kit.mode!r}")
    env = jinja2.Environment(
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["ps"] = ps_quote
    values = {
        "unit": kit.unit,
        "mode": kit.mode,
        "endpoint": endpoint,
        "cert_sha256": cert,
        "share": kit.share or "",
        "hour": int(kit.hour),
        "random_delay": int(kit.random_delay),
        "queue_limit": int(kit.queue_limit),
        "task_name": TASK_NAME,
    }
    return {
        "install-itaudit.ps1": env.from_string(_template("install-windows.ps1")).render(values),
        "uninstall-itaudit.ps1": env.from_string(_template("uninstall-windows.ps1")).render(values),
        "run.ps1": env.from_string(_template("run-windows.ps1")).render(values),
        "collect.ps1": collector_script(),
    }


def windows_text(text: str) -> bytes:
    """UTF-8 with BOM and CRLF: what Windows PowerShell 5.1 reads without surprises."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8-sig")


def write_kit(kit: WindowsKit, folder: Path) -> list[Path]:
    """Write the kit into `folder` (created); returns the files written."""
    from itaudit.safefile import write_file

    files = render(kit)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        write_file(folder / name, windows_text(text), fsync=True)
        written.append(folder / name)
    if kit.secret:
        written.append(write_secret(folder / "enrolment-secret.txt", kit.secret + "\r\n"))
    return written


def write_secret(path: Path, text: str) -> Path:
    """A file only its owner may read, from its creation on (never readable for a moment)."""
    import os

    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return path
