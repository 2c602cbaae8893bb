"""`itaudit doctor`."""

from __future__ import annotations

from pathlib import Path

import click

from itaudit.cli.common import (
    EXIT_FINDINGS,
    CommandFailed,
    Env,
    lang_option,
    pass_env,
    workspace_options,
)


@click.command()
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="ITAUDIT_TOKEN_FILE",
    help="The enrolment token file `itaudit serve --token-file` uses, to check who may read it "
    "[env ITAUDIT_TOKEN_FILE].",
)
@lang_option
@workspace_options
@pass_env
def doctor(env: Env, token_file: Path | None, lang: str) -> None:
    """Check that this machine can do the officer's work, one line per check.

    Python, nmap and its rights to send raw packets (root or CAP_NET_RAW on Linux,
    Npcap on Windows), the store and its version, the workspace files, the
    collector's certificate and enrolment token, the clock, the holiday
    calendar, free disk space (and long paths on Windows). Each line says ok,
    a note (works, with less) or what to fix. Nothing is changed.

    Exit status: 0 nothing missing, 1 something to fix.
    """
    from itaudit.doctor import DoctorSetup, exit_code, run_checks

    setup = DoctorSetup(
        workspace=env.workspace,
        store_url=env.store_url,
        store_label=env.store_label,
        token_file=token_file,
        lang=lang,
    )
    checks = run_checks(setup)
    for check in checks:
        click.echo(check.line(lang))
    if exit_code(checks):
        faults = sum(c.status == "fault" for c in checks)
        message = (
            f"{faults} mục cần sửa (xem các dòng trên)"
            if lang == "vi"
            else f"{faults} check(s) to fix (see the lines above)"
        )
        raise CommandFailed(message, EXIT_FINDINGS)
