"""Every command and subcommand has help text; the format enum is handled."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from itaudit import __version__
from itaudit.cli import COMMANDS, cli


def _walk(group: click.Group, ctx: click.Context, prefix: tuple[str, ...]):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _walk(command, ctx, (*prefix, name))


def _all_commands():
    ctx = click.Context(cli)
    return list(_walk(cli, ctx, ()))


def test_every_registered_command_loads():
    ctx = click.Context(cli)
    for name in COMMANDS:
        assert cli.get_command(ctx, name) is not None, name


@pytest.mark.parametrize("path", [p for p, _ in _all_commands()], ids=lambda p: " ".join(p))
def test_command_has_help(path):
    command = dict(_all_commands())[path]
    assert command.help and len(command.help.strip()) > 20, f"`itaudit {' '.join(path)}` lacks help"
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="itaudit")
    assert result.exit_code == 0, result.output
    assert "Usage: itaudit " + " ".join(path) in result.output


def test_every_option_has_help():
    for path, command in _all_commands():
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.help, f"`itaudit {' '.join(path)}` option {param.opts} lacks help"


def test_version(run_cli):
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"itaudit, version {__version__}"


def test_unknown_command_exits_2(run_cli):
    result = run_cli("frobnicate")
    assert result.returncode == 2
    assert "No such command 'frobnicate'" in result.stderr
