"""Writing a whole file without ever replacing what the path really is.

Every file itaudit produces (a report, an agent report on a USB stick, the
PowerShell collector) is written beside its target and renamed over it, so
that a reader or a pulled stick never sees half a file. Renaming over a path
that is not a regular file would replace it: `--out /dev/null` as root turned
the machine's /dev/null into a 0600 regular file. So the path is looked at
first (without following a link):

- a regular file, or nothing: temporary file, then rename;
- a character device, FIFO or socket (/dev/null, /dev/stdout, a pipe): written
  to directly, never renamed over;
- a folder, a block device: refused;
- a symbolic link: followed only when its target stays inside the folder the
  path names (and then that target is written as above); a link out of it is
  refused, so a planted link cannot make itaudit overwrite another file.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


class UnsafePath(OSError):
    """The path is something itaudit will not write a file over."""


def _resolve_link(path: Path) -> Path:
    target = path.resolve()
    folder = path.parent.resolve()
    if target != folder and folder not in target.parents:
        raise UnsafePath(f"{path} is a symbolic link to {target}, outside {folder}; refused")
    return target


def write_file(path: Path, data: bytes, *, fsync: bool = False) -> Path:
    """Write `data` as the whole content of `path` (see the module text); the path written.

    Raises UnsafePath for a path that must not be replaced, OSError otherwise.
    """
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISLNK(st.st_mode):
        path = _resolve_link(path)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = None
    if st is not None:
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            raise UnsafePath(f"{path} is a folder; give a file name")
        if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            with open(path, "wb") as fh:
                fh.write(data)
            return path
        if not stat.S_ISREG(mode):
            raise UnsafePath(f"{path} is not a regular file (a block device?); refused")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        if st is not None:
            # Keep the permissions the officer gave the existing file.
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
