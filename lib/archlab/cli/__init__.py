"""The ``archlab`` command line (typer).

Every command group lives in its own module as ``app = typer.Typer()``: ``nb`` and
``report`` (the workbook) are mounted at import; the study groups (``dram``, ``accel``,
``search``, ``sweep``, ``gemm``, ``odt``) by :func:`_mount_groups`. Keep heavy imports inside
the commands so ``archlab --help`` stays fast.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import typer

from archlab.cli._util import fail
from archlab.cli.nb import app as nb_app
from archlab.cli.report import app as report_app

app = typer.Typer(help="archlab: reproducible ML-assisted computer-architecture studies.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
params_app = typer.Typer(help="Check and show params.yaml.", no_args_is_help=True)
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


def main() -> None:  # console-script entry point
    _mount_groups()
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
