"""``archlab report``: the results page, docs/results.md and the README's headline block."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Build the results page from the studies' claim records.", no_args_is_help=True)


@app.command("results")
def results(
    index: Path = typer.Option(Path("reports/index.html"), "--index", "-o",
                               help="results page (relative paths are below the output root)"),
    docs: bool = typer.Option(True, "--docs/--no-docs",
                              help="also regenerate docs/results.md and the README's results block"),
) -> None:
    """Write reports/index.html, docs/results.md and the README block from metrics/*.json."""
    from archlab.cli._util import fail
    from archlab.workbook import report

    try:
        w = report.build_results(index, docs=docs)
    except ValueError as e:
        fail(str(e))
    typer.echo(f"wrote {w.index}" + (f", {w.results_md} and {w.readme}" if w.results_md else ""))


@app.command("index")
def index(output: Path = typer.Option(Path("reports/index.html"), "--output", "-o")) -> None:
    """Write only the results page (reports/index.html)."""
    from archlab.workbook import report

    typer.echo(f"wrote {report.build_index(output)}")
