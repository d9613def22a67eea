"""``archlab bench``: rank a searcher (yours) against the built-ins under the lottery protocol."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Rank a searcher against the built-ins under the lottery protocol.",
                  invoke_without_command=True, no_args_is_help=True)


@app.callback()
def bench(
    searcher: str = typer.Option(..., "--searcher", help="package.module:Class, or a registered/plugin name"),
    hp: list[str] = typer.Option([], "--set", help="hyperparameter KEY=VALUE pinned in every draw (repeatable)"),
    spaces: str = typer.Option("", "--spaces", help="comma-separated tabulated spaces (dram,accel); default: all"),
    profile: str = typer.Option("quick", "--profile", help="quick | standard | smoke (the lottery's profiles)"),
    out: Path | None = typer.Option(None, "--out", help="report folder (default reports/bench/<name>)"),
    baseline_store: Path | None = typer.Option(None, "--baseline-store",
                                               help="the lottery's results (default data/lottery/store)"),
    executor: str | None = typer.Option(None, "--executor", help="local | dask (default: params)"),
    workers: int | None = typer.Option(None, "--workers", min=1, help="worker processes (default: params)"),
    progress: bool = typer.Option(False, "--progress", help="show sweep progress bars"),
) -> None:
    """Check SEARCHER, run the lottery protocol for it (tuning seeds, then held-out seeds) on the
    tabulated spaces, reuse the built-ins' stored results, and write a ranked report."""
    from archlab.cli._util import fail
    from archlab.cli.check import cwd_importable
    from archlab.cli.search import _pairs
    from archlab.core.checks import ContractError
    from archlab.core.params import ParamsError
    from archlab.workbook.bench import BenchError, run_bench

    cwd_importable()
    try:
        R = run_bench(searcher, hp=_pairs(hp, "--set"), spaces=[s for s in spaces.split(",") if s] or None,
                      profile=profile, out=out, baseline_store=baseline_store, executor=executor,
                      workers=workers, progress=progress)
    except (BenchError, ContractError, ParamsError, KeyError, ValueError) as e:
        fail(str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e))
    ran = sum(R.ran.values())
    tied = f" (tied with {R.ties})" if R.ties else ""
    typer.echo(f"{R.name}: rank {R.rank} of {R.searchers}{tied} ({R.profile} profile, {', '.join(R.spaces)}); "
               f"{R.experiments} experiments, {R.reused} read from stored results ({R.from_lottery} from the "
               f"lottery's store), {ran} run now; "
               f"{R.wall_s:.0f} s")
    typer.echo(f"wrote {R.report}")
