"""``kedro run`` for this project: Kedro's own command, with the library's errors as one line.

Kedro merges the ``cli`` group of ``<package>.cli`` over its built-in commands. A bad parameter, a bad
input file or a failed gate is a :class:`~headpose.errors.HeadposeError`: it ends the run with its
message and exit code 2 instead of a traceback (node failures are still logged by Kedro's runner).
"""

from __future__ import annotations

import click
from kedro.framework.cli.project import run as kedro_run

from headpose.errors import HeadposeError

cli = click.Group()


class _OneLineError(click.ClickException):
    exit_code = 2


@cli.command("run", params=kedro_run.params, help=kedro_run.help, context_settings=kedro_run.context_settings)
@click.pass_context
def run(ctx: click.Context, **options) -> None:
    try:
        ctx.invoke(kedro_run, **options)
    except HeadposeError as exc:
        raise _OneLineError(str(exc)) from None
