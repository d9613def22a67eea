"""``archlab nb``: run a study notebook (papermill) and write its HTML report."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Run study notebooks.", no_args_is_help=True)


@app.command("run")
def run(
    notebook: Path = typer.Argument(..., help="notebook to execute"),
    section: str = typer.Option(..., "--section", "-s", help="params.yaml section"),
    smoke: bool = typer.Option(False, "--smoke", help="apply the section's smoke overlay"),
    out: Path | None = typer.Option(None, "--out", help="write outputs below this folder"),
) -> None:
    """Execute NOTEBOOK with papermill for SECTION and write its HTML report."""
    from archlab.cli._util import fail
    from archlab.core import params
    from archlab.workbook import nb

    try:
        result = nb.run(notebook, section, smoke=smoke, out=out)
    except (params.ParamsError, nb.NotebookFailed, FileNotFoundError) as e:
        fail(str(e))
    typer.echo(f"wrote {nb.display_path(result.executed)} and {nb.display_path(result.html)}")
