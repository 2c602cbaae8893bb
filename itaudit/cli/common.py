"""What every command shares: the workspace and store options, error handling,
output formats."""

from __future__ import annotations

import enum
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from itaudit.errors import InputError, ItauditError, StoreError, UsageError
from itaudit.workspace import Workspace

if TYPE_CHECKING:
    from itaudit.org.model import Organisation
    from itaudit.store import Store

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3


class Format(enum.StrEnum):
    """Every output format any command offers; each command picks its subset."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MD = "md"
    HTML = "html"
    XLSX = "xlsx"
    DOCX = "docx"


class CommandFailed(click.ClickException):
    """A ClickException with our exit code."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        # click >= 8.2 declares exit_code a ClassVar; an instance value still wins when
        # click reads it, and every code of ours goes through this one class.
        self.__dict__["exit_code"] = exit_code


@dataclass
class Env:
    """Per-invocation state: where the workspace is, which store, opened lazily."""

    workspace: Workspace = field(default_factory=lambda: Workspace(Path(".")))
    store_override: str | None = None
    _store: Store | None = None
    _org: Organisation | None = None

    @property
    def store_url(self) -> str:
        return self.workspace.store_url(self.store_override)

    @property
    def store_label(self) -> str:
        """The store URL with any password hidden, for messages."""
        from sqlalchemy.engine import make_url

        try:
            return make_url(self.store_url).render_as_string(hide_password=True)
        except Exception:
            return self.store_url

    def check_store_place(self) -> None:
        """Refuse to grow a new default store in a folder that is no workspace."""
        ws = self.workspace
        default_file = ws.inventory / "itaudit.db"
        if (
            self.store_url == ws.default_store_url
            and not ws.is_initialised()
            and not default_file.exists()
        ):
            # A mistyped --workspace would otherwise get a new empty store, and the
            # officer's reports would land where nothing else ever looks.
            raise UsageError(
                f"{ws.root}: no itaudit workspace here (no inventory/organization.yaml, "
                f"no store): run `itaudit -w {ws.root} init` to create one, or give the "
                "right --workspace or --store"
            )

    def store(self) -> Store:
        if self._store is None:
            from itaudit.store import open_store

            self.check_store_place()
            try:
                self.workspace.inventory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create {self.workspace.inventory}: {exc.strerror or exc}"
                ) from exc
            self._store = open_store(self.store_url)
            click.get_current_context().call_on_close(self._store.close)
        return self._store

    def org(self) -> Organisation:
        """The organisation register; its errors stop the command (exit 2)."""
        if self._org is None:
            from itaudit.org import load_organisation

            self._org = load_organisation(self.workspace.inventory)
        return self._org


class ItauditGroup(click.Group):
    """Turns domain errors into messages and exit codes, never tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (UsageError, InputError) as exc:
            raise CommandFailed(str(exc), EXIT_USAGE) from exc
        except StoreError as exc:
            raise CommandFailed(f"store: {exc}", EXIT_ENVIRONMENT) from exc
        except ItauditError as exc:
            raise CommandFailed(str(exc), EXIT_ENVIRONMENT) from exc
        except BrokenPipeError:
            sys.stderr.close()  # `itaudit hosts | head`: not an error
            return None


def _set_workspace(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.ensure_object(Env).workspace = Workspace(value)


def _set_store(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.ensure_object(Env).store_override = value


def workspace_options(f: F) -> F:
    """--workspace and --store, accepted before or after the subcommand name."""
    f = click.option(
        "--store",
        "-s",
        metavar="URL",
        envvar="ITAUDIT_STORE",
        expose_value=False,
        is_eager=True,
        callback=_set_store,
        help="Inventory store: sqlite:///FILE or postgresql://USER@HOST/DB "
        "[env ITAUDIT_STORE; default: WORKSPACE/inventory/itaudit.db].",
    )(f)
    f = click.option(
        "--workspace",
        "-w",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="ITAUDIT_WORKSPACE",
        expose_value=False,
        is_eager=True,
        callback=_set_workspace,
        help="Workspace folder holding inventory/, profiles/, reports/ [default: current folder].",
    )(f)
    return f


pass_env = click.make_pass_decorator(Env, ensure=True)


def format_option(*choices: Format, default: Format = Format.TABLE) -> Callable[[F], F]:
    return click.option(
        "--format",
        "-f",
        "fmt",
        type=click.Choice([c.value for c in choices]),
        default=default.value,
        show_default=True,
        help="Output format.",
    )


def lang_option(f: F) -> F:
    """--lang vi|en; Vietnamese first, as the department's readers are."""
    return click.option(
        "--lang",
        "-l",
        type=click.Choice(["vi", "en"]),
        default="vi",
        show_default=True,
        help="Language of names and messages.",
    )(f)


def emit_rows(
    rows: Sequence[dict[str, Any]],
    fmt: str,
    columns: Sequence[str],
    headers: Sequence[str] | None = None,
) -> None:
    """Print rows as a table, JSON or CSV: the one place list output is formatted."""
    if fmt == Format.JSON:
        click.echo(json.dumps(list(rows), ensure_ascii=False, indent=2, default=str))
        return
    rows = [{k: _cell(v, fmt) for k, v in row.items()} for row in rows]
    if fmt == Format.CSV:
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    else:
        from tabulate import tabulate

        table = [["" if r.get(c) is None else r.get(c) for c in columns] for r in rows]
        click.echo(
            tabulate(
                table, headers=list(headers or columns), tablefmt="simple", disable_numparse=True
            )
        )


def _cell(value: Any, fmt: str = Format.TABLE) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        # Text may come from an agent or the network: no terminal escape codes,
        # and no cell Excel would run as a formula.
        value = _CONTROL.sub("\ufffd", value)
        if fmt == Format.CSV and value.startswith(("=", "+", "-", "@")):
            value = "'" + value
    return value


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def echo_problems(problems: Iterable[Any], err: bool = True) -> None:
    for p in problems:
        click.echo(str(p), err=err)
