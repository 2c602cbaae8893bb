"""Bundles: the raw outputs of one collection, one file per source.

A bundle is a folder (or a zip of that folder) holding

    manifest.json          what was collected, when, by what, and each source's status
    <source>.json          a structured source (registry, CIM, PowerShell, services...)
    <source>.txt           a text source (a command's output, a file's text)

`manifest.json`:

    {"format": "itaudit-bundle/1", "platform": "windows", "collector": "powershell",
     "collector_version": "1", "collected_at": "2026-11-20T02:15:04Z",
     "elevated": false, "hostname": "PC-01",
     "sources": {"reg-currentversion": {"kind": "registry", "target": "HKLM:\\...",
                 "status": "ok", "file": "reg-currentversion.json", "sha256": "..."},
                 "cim-antivirusproduct": {"kind": "cim", "status": "absent",
                 "message": "Invalid namespace", "error_code": "0x8004100E"}}}

The PowerShell collector also writes `signature.json`, last: an ECDSA P-256
signature over the SHA-256 of every other file (itaudit.agent.bundle_signing).

The PowerShell collector (`itaudit agent script`) writes exactly this layout;
`RecordingContext` writes it for Linux. A bundle is untrusted input: file names
are checked, sizes bounded, hashes compared.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from itaudit.agent.context import (
    DEFAULT_TIMEOUT,
    MAX_OUTPUT,
    Kind,
    OSContext,
    Result,
    Status,
)
from itaudit.agent.errors import BundleError

FORMAT = "itaudit-bundle/1"
MANIFEST = "manifest.json"
# Written instead of a bundle when a policy stopped the collector (collect.ps1, "self-check").
SELFCHECK = "selfcheck.txt"
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_BUNDLE_BYTES = 128 * 1024 * 1024
MAX_SOURCES = 500
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


def file_name(source: str, kind: Kind) -> str:
    return f"{source}.{'json' if kind.structured else 'txt'}"


def _check_name(name: str, where: str) -> str:
    if not isinstance(name, str) or not _SAFE_NAME.match(name) or ".." in name:
        raise BundleError(where, f"unsafe name {str(name)[:60]!r} (letters, digits, . _ - only)")
    return name


@dataclass(frozen=True)
class SourceEntry:
    name: str
    kind: Kind
    status: Status
    target: str | None
    message: str
    file: str | None
    sha256: str | None
    exit_code: int | None
    error_code: str | None


class Bundle:
    """A bundle opened for reading: its manifest and a way to read each file."""

    def __init__(self, label: str, manifest: dict[str, Any], files: dict[str, bytes] | Path):
        self.label = label
        self.manifest = manifest
        self._files = files
        self.sources = self._parse_sources()

    # -- opening -------------------------------------------------------------
    @classmethod
    def open(cls, path: Path) -> Bundle:
        """A bundle folder, or a zip holding one (at its root or in one top folder)."""
        if path.is_dir():
            manifest_path = path / MANIFEST
            if not manifest_path.is_file():
                hint = ""
                if any((sub / MANIFEST).is_file() for sub in path.iterdir() if sub.is_dir()):
                    hint = f" (it holds bundles: give them, e.g. {path / '*'})"
                if (path / SELFCHECK).is_file():
                    raise BundleError(str(path), blocked_reason((path / SELFCHECK).read_bytes()))
                raise BundleError(str(path), f"no {MANIFEST} in this folder: not a bundle{hint}")
            data = _read_inside(path, MANIFEST, str(path))
            return cls(str(path), _load_json(data, str(manifest_path)), path)
        if path.is_file() and zipfile.is_zipfile(path):
            return cls._open_zip(path)
        if path.is_file():
            raise BundleError(str(path), "not a bundle: expected a folder or a .zip")
        raise BundleError(str(path), "no such file or folder")

    @classmethod
    def _open_zip(cls, path: Path) -> Bundle:
        files: dict[str, bytes] = {}
        total = 0
        try:
            with zipfile.ZipFile(path) as zf:
                infos = [i for i in zf.infolist() if not i.is_dir()]
                if len(infos) > MAX_SOURCES + 1:
                    raise BundleError(str(path), f"more than {MAX_SOURCES} files")
                names = [i.filename for i in infos]
                prefix = _zip_prefix(names, str(path))
                for info in infos:
                    rel = info.filename[len(prefix) :]
                    if "/" in rel or "\\" in rel:
                        continue  # nothing of ours lives in sub-folders
                    if info.file_size > MAX_FILE_BYTES:
                        raise BundleError(
                            f"{path}:{info.filename}", f"larger than {MAX_FILE_BYTES:,} bytes"
                        )
                    total += info.file_size
                    if total > MAX_BUNDLE_BYTES:
                        raise BundleError(str(path), f"larger than {MAX_BUNDLE_BYTES:,} bytes")
                    with zf.open(info) as fh:
                        # Bound the read too: the declared size of a zip entry can lie.
                        data = fh.read(MAX_FILE_BYTES + 1)
                    if len(data) > MAX_FILE_BYTES:
                        raise BundleError(
                            f"{path}:{info.filename}", f"larger than {MAX_FILE_BYTES:,} bytes"
                        )
                    files[rel] = data
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise BundleError(str(path), f"unreadable zip ({exc})") from exc
        if MANIFEST not in files:
            if SELFCHECK in files:
                raise BundleError(str(path), blocked_reason(files[SELFCHECK]))
            raise BundleError(str(path), f"no {MANIFEST} in the zip: not a bundle")
        return cls(str(path), _load_json(files[MANIFEST], f"{path}:{MANIFEST}"), files)

    # -- manifest ------------------------------------------------------------
    def _parse_sources(self) -> dict[str, SourceEntry]:
        m = self.manifest
        where = f"{self.label}:{MANIFEST}"
        if not isinstance(m, dict):
            raise BundleError(where, "the manifest must be a JSON object")
        if m.get("format") != FORMAT:
            raise BundleError(
                where, f"format must be {FORMAT!r}, got {str(m.get('format'))[:40]!r}"
            )
        if m.get("platform") not in ("windows", "linux"):
            raise BundleError(
                where, f"platform must be windows or linux, got {str(m.get('platform'))[:20]!r}"
            )
        raw = m.get("sources")
        if not isinstance(raw, dict):
            raise BundleError(where, "sources must be an object keyed by source name")
        if len(raw) > MAX_SOURCES:
            raise BundleError(where, f"more than {MAX_SOURCES} sources")
        out: dict[str, SourceEntry] = {}
        for name, entry in raw.items():
            _check_name(name, f"{where}: sources")
            if not isinstance(entry, dict):
                raise BundleError(where, f"sources.{name} must be an object")
            try:
                kind = Kind(str(entry.get("kind")))
                status = Status(str(entry.get("status")))
            except ValueError as exc:
                raise BundleError(where, f"sources.{name}: {exc}") from exc
            file = entry.get("file")
            if file is not None:
                _check_name(file, f"{where}: sources.{name}.file")
            out[name] = SourceEntry(
                name,
                kind,
                status,
                _opt_str(entry.get("target")),
                _opt_str(entry.get("message")) or "",
                file,
                _opt_str(entry.get("sha256")),
                entry.get("exit_code") if isinstance(entry.get("exit_code"), int) else None,
                _opt_str(entry.get("error_code")),
            )
        return out

    @property
    def platform(self) -> str:
        return self.manifest["platform"]

    @property
    def collector(self) -> str:
        value = self.manifest.get("collector")
        return value if value in ("python", "powershell") else "powershell"

    @property
    def collected_at(self) -> datetime | None:
        value = self.manifest.get("collected_at")
        if not isinstance(value, str):
            return None
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed.astimezone(UTC) if parsed.tzinfo else None

    @property
    def elevated(self) -> bool | None:
        value = self.manifest.get("elevated")
        return value if isinstance(value, bool) else None

    def file_names(self) -> list[str]:
        """The files at the bundle's top level (what the collector's signature covers)."""
        if isinstance(self._files, dict):
            return sorted(self._files)
        return sorted(p.name for p in self._files.iterdir() if p.is_file())

    def read_file(self, name: str) -> bytes:
        _check_name(name, self.label)
        if isinstance(self._files, dict):
            if name not in self._files:
                raise FileNotFoundError(name)
            return self._files[name]
        return _read_inside(self._files, name, self.label)


def _read_inside(folder: Path, name: str, label: str) -> bytes:
    """A file of a bundle folder, never anything outside it.

    A USB stick is untrusted: a symbolic link in a bundle could pull a file of
    the officer's machine into a report (a key, a password file), and a FIFO
    would block the parse. A link is followed only when it stays inside the
    bundle folder; anything but a regular file is refused, named.
    """
    path = folder / name
    where = f"{label}:{name}"
    st = os.lstat(path)  # FileNotFoundError is the caller's "file missing"
    if stat.S_ISLNK(st.st_mode):
        target = path.resolve()
        root = folder.resolve()
        if root not in target.parents:
            raise BundleError(
                where, f"a symbolic link to {target}, outside the bundle: not followed"
            )
        st = os.stat(target)
        path = target
    if not stat.S_ISREG(st.st_mode):
        raise BundleError(where, "not a regular file (a pipe or a device?): not read")
    if st.st_size > MAX_FILE_BYTES:
        raise BundleError(where, f"larger than {MAX_FILE_BYTES:,} bytes")
    with open(path, "rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise BundleError(where, f"larger than {MAX_FILE_BYTES:,} bytes")
    return data


def _opt_str(value: Any) -> str | None:
    return str(value)[:1000] if value is not None else None


def _zip_prefix(names: Sequence[str], label: str) -> str:
    if MANIFEST in names or SELFCHECK in names:
        return ""
    tops = {n.split("/", 1)[0] for n in names if "/" in n}
    for top in tops:
        if f"{top}/{MANIFEST}" in names or f"{top}/{SELFCHECK}" in names:
            return f"{top}/"
    raise BundleError(label, f"no {MANIFEST} at the root of the zip or in one top folder")


def _load_json(data: bytes, where: str) -> Any:
    try:
        # PowerShell 5.1 writes UTF-8 with a byte-order mark.
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise BundleError(where, f"not UTF-8 (invalid byte at offset {exc.start})") from exc
    except ValueError as exc:
        raise BundleError(where, f"invalid JSON: {exc}") from exc
    except RecursionError as exc:
        raise BundleError(where, "invalid JSON: nested too deeply") from exc


class BundleContext(OSContext):
    """Replays a bundle: every read returns what the collector recorded."""

    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.platform = bundle.platform
        offset = bundle.manifest.get("utc_offset_minutes")
        self.utc_offset_minutes = (
            offset if isinstance(offset, int) and abs(offset) <= 18 * 60 else 0
        )

    @property
    def elevated(self) -> bool | None:
        return self.bundle.elevated

    def _get(self, source: str, kind: Kind) -> Result:
        entry = self.bundle.sources.get(source)
        if entry is None:
            return Result(
                source,
                Status.FAILED,
                message="not in the bundle (collected by an older script?)",
            )
        if entry.kind is not kind:
            return Result(
                source,
                Status.FAILED,
                message=f"recorded as {entry.kind.value}, expected {kind.value}",
            )
        message = entry.message
        if entry.error_code:
            message = f"{message} ({entry.error_code})" if message else entry.error_code
        value: Any = None
        if entry.file is not None:
            try:
                data = self.bundle.read_file(entry.file)
            except FileNotFoundError:
                return Result(
                    source, Status.FAILED, message=f"{entry.file} is missing from the bundle"
                )
            if entry.sha256 and hashlib.sha256(data).hexdigest() != entry.sha256.lower():
                return Result(
                    source,
                    Status.FAILED,
                    message=f"{entry.file} changed after collection (hash differs)",
                )
            if kind.structured:
                try:
                    value = json.loads(data.decode("utf-8-sig"))
                except (UnicodeDecodeError, ValueError, RecursionError):
                    return Result(source, Status.FAILED, message=f"{entry.file} is not valid JSON")
            else:
                value = data.decode("utf-8-sig", "replace")
        elif entry.status is Status.OK:
            value = "" if not kind.structured else None
        return Result(source, entry.status, value, message, entry.exit_code)

    def run(self, source: str, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT) -> Result:
        return self._get(source, Kind.COMMAND)

    def read_text(self, source: str, path: str, *, max_bytes: int = MAX_OUTPUT) -> Result:
        return self._get(source, Kind.FILE)

    def list_dir(self, source: str, path: str) -> Result:
        return self._get(source, Kind.LISTDIR)

    def read_registry(self, source: str, key: str) -> Result:
        return self._get(source, Kind.REGISTRY)

    def read_registry_tree(self, source: str, key: str) -> Result:
        return self._get(source, Kind.REGISTRY_TREE)

    def cim_query(self, source: str, namespace: str, class_name: str) -> Result:
        return self._get(source, Kind.CIM)

    def powershell(self, source: str, command: str) -> Result:
        return self._get(source, Kind.POWERSHELL)

    def services(self) -> Result:
        return self._get("services", Kind.SERVICES)

    def processes(self) -> Result:
        return self._get("processes", Kind.PROCESSES)

    def interfaces(self) -> Result:
        return self._get("interfaces", Kind.INTERFACES)


class BundleWriter:
    """Writes a bundle folder, source by source (used by RecordingContext)."""

    def __init__(self, folder: Path, platform: str, collector: str = "python"):
        from itaudit import __version__

        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.manifest: dict[str, Any] = {
            "format": FORMAT,
            "platform": platform,
            "collector": collector,
            "collector_version": __version__,
            "collected_at": None,
            "elevated": None,
            "sources": {},
        }

    def add(self, kind: Kind, target: str, result: Result, duration_ms: int) -> None:
        name = _check_name(result.source, str(self.folder))
        entry: dict[str, Any] = {
            "kind": kind.value,
            "target": target,
            "status": result.status.value,
        }
        if result.message:
            entry["message"] = result.message
        if result.exit_code is not None:
            entry["exit_code"] = result.exit_code
        if result.value is not None:
            if kind.structured:
                data = json.dumps(result.value, ensure_ascii=False, indent=1).encode("utf-8")
            else:
                data = str(result.value).encode("utf-8")
            fname = file_name(name, kind)
            (self.folder / fname).write_bytes(data)
            entry["file"] = fname
            entry["sha256"] = hashlib.sha256(data).hexdigest()
        entry["duration_ms"] = duration_ms
        self.manifest["sources"][name] = entry

    def finish(
        self,
        collected_at: str,
        elevated: bool | None,
        hostname: str | None,
        utc_offset_minutes: int,
        duration_ms: int | None = None,
    ) -> Path:
        self.manifest.update(
            collected_at=collected_at,
            elevated=elevated,
            hostname=hostname,
            utc_offset_minutes=utc_offset_minutes,
        )
        if duration_ms is not None:
            self.manifest["duration_ms"] = duration_ms
        path = self.folder / MANIFEST
        path.write_text(json.dumps(self.manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        return path


def zip_bundle(folder: Path, target: Path) -> Path:
    """Zip a bundle folder (flat), e.g. to carry it on a USB stick."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.iterdir()):
            if path.is_file():
                zf.write(path, path.name)
    target.write_bytes(buf.getvalue())
    return target


def blocked_reason(data: bytes) -> str:
    """What a collector stopped by policy wrote (its self-check line), for the officer."""
    text = data[:600].decode("utf-8-sig", "replace")
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())[:400]
    return f"the collector was blocked by policy on this machine, no facts collected ({line})"
