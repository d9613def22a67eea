"""The ``archlab`` command line (typer).

Study groups (``dram``, ``accel``, ``search``, ``sweep``, ``gemm``, ``odt``) live in their
own modules as ``app = typer.Typer()`` and are mounted here; keep heavy imports inside
their commands so ``archlab --help`` stays fast.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import typer

from archlab.cli._util import fail

app = typer.Typer(help="archlab: reproducible ML-assisted computer-architecture studies.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
nb_app = typer.Typer(help="Run study notebooks.", no_args_is_help=True)
params_app = typer.Typer(help="Check and show params.yaml.", no_args_is_help=True)
report_app = typer.Typer(help="Build the report index.", no_args_is_help=True)
app.add_typer(nb_app, name="nb")
app.add_typer(params_app, name="params")
app.add_typer(report_app, name="report")

# group name -> module holding `app`
GROUPS = {
    "dram": "archlab.cli.dram",
    "accel": "archlab.cli.accel",
    "search": "archlab.cli.search",
    "sweep": "archlab.cli.sweep",
    "gemm": "archlab.cli.gemm",
    "odt": "archlab.cli.odt",
    "check": "archlab.cli.check",
    "bench": "archlab.cli.bench",
}


def _mount_groups() -> None:
    for name, module in GROUPS.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name == module:  # that study has no CLI (yet); anything else is a real error
                continue
            raise
        app.add_typer(mod.app, name=name)


@nb_app.command("run")
def nb_run(
    notebook: Path = typer.Argument(..., help="notebook to execute"),
    section: str = typer.Option(..., "--section", "-s", help="params.yaml section"),
    smoke: bool = typer.Option(False, "--smoke", help="apply the section's smoke overlay"),
    out: Path | None = typer.Option(None, "--out", help="write outputs below this folder"),
) -> None:
    """Execute NOTEBOOK with papermill for SECTION and write its HTML report."""
    from archlab.core import params
    from archlab.workbook import nb

    try:
        result = nb.run(notebook, section, smoke=smoke, out=out)
    except (params.ParamsError, nb.NotebookFailed, FileNotFoundError) as e:
        fail(str(e))
    typer.echo(f"wrote {result.executed} and {result.html}")


@params_app.command("check")
def params_check(file: Path | None = typer.Option(None, "--file", "-f")) -> None:
    """Validate every section of params.yaml under every profile."""
    from archlab.core import params

    try:
        active = params.validate_all(params.read(file))
    except params.ParamsError as e:
        fail(str(e))
    typer.echo(f"params OK: {', '.join(active)} (profile {active['common'].profile})")


@params_app.command("show")
def params_show(section: str, smoke: bool = typer.Option(False, "--smoke")) -> None:
    """Print the active values of SECTION as JSON."""
    from archlab.core import params

    try:
        values = params.load_section(section, smoke=smoke)
    except params.ParamsError as e:
        fail(str(e))
    typer.echo(json.dumps(params.as_dict(values), indent=2))


@report_app.command("index")
def report_index(output: Path = typer.Option(Path("reports/index.html"), "--output", "-o")) -> None:
    """Build reports/index.html linking every study report, metrics and figures."""
    from archlab.workbook import report

    path = report.build_index(output)
    typer.echo(f"wrote {path}")


def main() -> None:  # console-script entry point
    _mount_groups()
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
