"""The ``sage`` command: one typer app with a sub-app per concern."""

from __future__ import annotations

import typer

from sage import __version__
from sage.cli.commands import bench, demo, doctor, engine, job, jobmanager, llm, studio


class _SageApp(typer.Typer):
    """The ``sage`` command: SAGE's own errors (bad settings, ports in use...) are one
    line and exit code 2, never a traceback of Python internals."""

    def __call__(self, *args: object, **kwargs: object) -> object:
        from sage.common.errors import SageError

        try:
            return super().__call__(*args, **kwargs)
        except SageError as exc:
            import sys

            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None


app = _SageApp(
    name="sage",
    help="SAGE: declarative LLM/AI pipelines with a unified serving control plane.",
    no_args_is_help=True,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sage {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """SAGE command line."""


app.command("doctor")(doctor.doctor)
app.command("demo")(demo.demo)
app.add_typer(engine.app, name="engine")
app.add_typer(llm.app, name="llm")
app.add_typer(bench.app, name="bench")
app.add_typer(job.app, name="job")
app.add_typer(jobmanager.app, name="jobmanager")
app.add_typer(studio.app, name="studio")

if __name__ == "__main__":
    app()
