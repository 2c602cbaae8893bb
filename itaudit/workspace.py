"""The workspace: the folder that holds `inventory/`, `profiles/` and `reports/`.

The bundled sample department is the repository's own `inventory/` and
`profiles/`; the wheel ships that single copy as `itaudit/_sample/`.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from itaudit.errors import ItauditError

STORE_ENV = "ITAUDIT_STORE"
SAMPLE_DIRS = ("inventory", "profiles")
# Files of a workspace that are state, not sample data: never copied by init.
_NOT_SAMPLE = {".db", ".db-wal", ".db-shm"}


def sample_root() -> Path:
    """Where the bundled sample lives: inside the wheel, or the source checkout."""
    packaged = Path(__file__).resolve().parent / "_sample"
    if (packaged / "inventory").is_dir():
        return packaged
    source = Path(__file__).resolve().parent.parent
    if (source / "inventory" / "organization.yaml").is_file():
        return source
    raise FileNotFoundError(
        "the bundled sample (inventory/, profiles/) is missing from this install"
    )


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def inventory(self) -> Path:
        return self.root / "inventory"

    @property
    def profiles(self) -> Path:
        return self.root / "profiles"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def default_store_url(self) -> str:
        return f"sqlite:///{(self.inventory / 'itaudit.db').resolve()}"

    def store_url(self, explicit: str | None = None) -> str:
        """The store URL: explicit option, then $ITAUDIT_STORE, then the workspace file."""
        return explicit or os.environ.get(STORE_ENV) or self.default_store_url

    def is_initialised(self) -> bool:
        return (self.inventory / "organization.yaml").is_file()


def init_workspace(root: Path) -> list[Path]:
    """Copy the bundled sample into `root`, never overwriting; return what was created.

    A folder that cannot be written raises ItauditError naming it (what was
    created before stays: running init again completes it).
    """
    try:
        return _copy_sample(root)
    except OSError as exc:
        where = exc.filename or root
        raise ItauditError(
            f"cannot create the workspace in {root}: {where}: {exc.strerror or exc}"
        ) from exc


def _copy_sample(root: Path) -> list[Path]:
    src_root = sample_root()
    created: list[Path] = []
    root.mkdir(parents=True, exist_ok=True)
    if src_root.resolve() == root.resolve():
        (root / "reports").mkdir(exist_ok=True)
        return created
    for name in SAMPLE_DIRS:
        for src in sorted((src_root / name).rglob("*")):
            if src.suffix in _NOT_SAMPLE or "__pycache__" in src.parts:
                continue
            dest = root / name / src.relative_to(src_root / name)
            if src.is_dir():
                if not dest.exists():
                    dest.mkdir(parents=True)
                    created.append(dest)
            elif not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest)
                created.append(dest)
    reports = root / "reports"
    if not reports.exists():
        reports.mkdir()
        created.append(reports)
    return created
