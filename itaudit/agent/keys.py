"""Where the agent keeps its signing key, and loading it.

Default location:
- Linux, root: /etc/itaudit/agent-key.pem
- Linux, a user: $XDG_CONFIG_HOME/itaudit/agent-key.pem (or ~/.config/itaudit/...)
- Windows: %ProgramData%\\itaudit\\agent-key.pem
`--key PATH` overrides it. The key is created on first use, readable only by
its owner (0600; on Windows an ACL set with icacls: SYSTEM, Administrators and
the user, see itaudit/fileaccess.py); `itaudit ingest` pins the first key it
sees per host.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Any

from itaudit.agent.errors import AgentError

KEY_NAME = "agent-key.pem"


def default_key_path(
    platform: str = sys.platform,
    env: Mapping[str, str] | None = None,
    euid: int | None = None,
) -> Path | PureWindowsPath:
    env = os.environ if env is None else env
    if platform == "win32":
        base = env.get("ProgramData") or env.get("PROGRAMDATA") or r"C:\ProgramData"
        return PureWindowsPath(base) / "itaudit" / KEY_NAME
    if euid is None:
        euid = os.geteuid() if hasattr(os, "geteuid") else 1000
    if euid == 0:
        return Path("/etc/itaudit") / KEY_NAME
    config = env.get("XDG_CONFIG_HOME")
    if config and Path(config).is_absolute():
        return Path(config) / "itaudit" / KEY_NAME
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".config" / "itaudit" / KEY_NAME


@dataclass(frozen=True)
class AgentKey:
    key: Any  # Ed25519PrivateKey
    path: Path
    created: bool
    fingerprint: str
    warning: str | None = None


def load_key(path: Path) -> AgentKey:
    """Load the key at path, creating it (0600) when it does not exist yet."""
    from itaudit.signing import key_fingerprint, load_or_create_key, public_key_b64

    existed = path.exists()
    for folder in (path.parent, *path.parent.parents):
        if folder.exists():
            if not folder.is_dir():
                raise AgentError(
                    f"cannot create the signing key {path}: {folder} is a file, not a folder"
                )
            break
    try:
        key = load_or_create_key(path)
    except PermissionError as exc:
        raise AgentError(
            f"cannot {'read' if existed else 'create'} the signing key {path}: permission denied "
            "(give --key PATH in a folder you own, or --no-sign)"
        ) from exc
    except OSError as exc:
        raise AgentError(f"cannot create the signing key {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise AgentError(f"{path} is not a usable Ed25519 private key: {exc}") from exc
    warning = None
    if not existed and sys.platform == "win32":
        # The file took its folder's ACL (Users may read under %ProgramData%).
        from itaudit.fileaccess import fix_hint, restrict_to_owner

        if restrict_to_owner(path):
            warning = f"{path} may be readable by other users; run: {fix_hint(path)}"
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            warning = (
                f"{path} is readable by other users (mode {mode:o}); anyone who can read it "
                f"can sign reports as this machine: chmod 600 {path}"
            )
    return AgentKey(key, path, not existed, key_fingerprint(public_key_b64(key)), warning)
