"""``archlab sweep``: run, inspect and compact a study's sweep (params from params.yaml)."""

from __future__ import annotations

import typer

from archlab.cli._util import fail

app = typer.Typer(help="Experiment sweeps (local processes or Dask), resumable.", no_args_is_help=True)

SECTION = typer.Option(..., "--section", "-s", help="params.yaml section holding a sweep spec (archlab.sweep.spec.SweepSpec)")
SMOKE = typer.Option(False, "--smoke", help="apply the section's smoke overlay")
PROFILE = typer.Option(None, "--profile", "-p", help="quick or paper (default: common.profile)")


def _load(section: str, smoke: bool, profile: str | None):
    """(section params, common params) under ``profile`` (default: common.profile)."""
    from archlab.core import params

    try:
        data = params.read()
        if profile is not None:
            data["common"] = {**(data.get("common") or {}), "profile": profile}
        return params.load_section(section, smoke=smoke, data=data), params.load_section("common", data=data)
    except params.ParamsError as e:
        fail(str(e))


def _setup(section: str, smoke: bool, profile: str | None = None):
    from archlab.core import paths
    from archlab.sweep.plan import expand
    from archlab.sweep.store import Store

    spec, common = _load(section, smoke, profile)
    if not hasattr(spec, "searchers") or not hasattr(spec, "problems"):
        fail(f"section {section!r} is not a sweep spec (needs problems and searchers)")
    store = Store(paths.data_dir(section) / "store")
    try:
        experiments = expand(spec, common.seed, cache=store.root / "calibration")
    except (ValueError, KeyError) as e:
        fail(str(e))
    return spec, common, store, experiments


@app.command("run")
def run(section: str = SECTION, smoke: bool = SMOKE, profile: str | None = PROFILE,
        executor: str | None = typer.Option(None, "--executor", "-e", help="local or dask (default: params)"),
        workers: int | None = typer.Option(None, "--workers", "-w", min=1, help="default: common.workers"),
        address: str | None = typer.Option(None, "--address", help="Dask scheduler tcp://host:port"),
        limit: int | None = typer.Option(None, "--limit", min=0, help="run at most N experiments")) -> None:
    """Run every unfinished experiment of SECTION and append results to data/SECTION/store."""
    from archlab.sweep.run import run_sweep

    spec, common, store, experiments = _setup(section, smoke, profile)
    chosen = executor or (common.executor if spec.executor == "common" else spec.executor)
    if chosen not in ("local", "dask"):
        fail(f"--executor {chosen!r}: allowed: local, dask")
    result = run_sweep(experiments, store, executor=chosen, workers=workers or common.workers,
                       address=address or common.dask_address, progress=spec.progress, limit=limit)
    typer.echo(f"{result.total} experiments: {result.skipped} already done, ran {result.ran} in "
               f"{result.wall_s:.1f} s ({result.rate_per_hour:.0f}/h); store {store.root}")


@app.command("status")
def status(section: str = SECTION, smoke: bool = SMOKE, profile: str | None = PROFILE) -> None:
    """Planned, finished and remaining experiments of SECTION, per searcher."""
    from collections import Counter

    _, _, store, experiments = _setup(section, smoke, profile)
    done = store.done_ids()
    total, finished = Counter(), Counter()
    for e in experiments:
        total[e.searcher] += 1
        finished[e.searcher] += e.id in done
    typer.echo(f"store {store.root}")
    typer.echo(f"{'searcher':<14}{'done':>8}{'planned':>9}")
    for name in total:
        typer.echo(f"{name:<14}{finished[name]:>8}{total[name]:>9}")
    n_done = sum(finished.values())
    extra = len(done) - n_done
    typer.echo(f"{'all':<14}{n_done:>8}{len(experiments):>9}" + (f"  (+{extra} stored, not planned)" if extra else ""))


@app.command("prune")
def prune(section: str = SECTION, smoke: bool = SMOKE, profile: str | None = PROFILE,
          dry_run: bool = typer.Option(False, "--dry-run", help="only count what would be deleted")) -> None:
    """Delete stored results of experiments SECTION no longer plans (other params or older code)."""
    _, _, store, experiments = _setup(section, smoke, profile)
    gone = store.prune({e.id for e in experiments}, dry_run=dry_run)
    typer.echo(f"{'would delete' if dry_run else 'deleted'} {len(gone)} experiments not planned; store {store.root}")


@app.command("compact")
def compact(section: str = SECTION) -> None:
    """Merge the per-experiment parts of SECTION's store into one parquet file."""
    from archlab.core import paths
    from archlab.sweep.store import Store

    out = Store(paths.data_dir(section) / "store").compact()
    typer.echo(f"compacted into {out}" if out else "store is empty")


@app.command("protocol")
def protocol(section: str = typer.Option("lottery", "--section", "-s", help="a lottery-protocol params section"),
             smoke: bool = SMOKE, profile: str | None = PROFILE) -> None:
    """Run the lottery protocol's experiments (tuning seeds, then held-out seeds) into
    data/SECTION/store; the study's notebook then finds every result there."""
    from archlab.studies.lottery import run as lottery

    spec, common = _load(section, smoke, profile)
    if not hasattr(spec, "tasks") or not hasattr(spec, "rules"):
        fail(f"section {section!r} is not a lottery-protocol section (needs tasks and rules)")
    try:
        T = lottery.execute(spec, common, section)
    except ValueError as e:
        fail(str(e))
    typer.echo(f"{section}: {T.experiments} experiments ({T.ran} run now, {T.failed} failed) on {len(T.tasks)} "
               f"tasks; skipped: {', '.join(T.skipped) or 'none'}")
