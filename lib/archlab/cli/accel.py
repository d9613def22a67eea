"""``archlab accel``: evaluate accelerator design points with ZigZag, list the space and workloads."""

from __future__ import annotations

import json

import typer

app = typer.Typer(help="DNN-accelerator design space on ZigZag.", no_args_is_help=True)


def parse_sets(items: list[str]) -> dict:
    """``["pe_rows=16", "systolic=false"]`` -> ``{"pe_rows": 16, "systolic": False}``."""
    import yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {item!r}: expected KNOB=VALUE")
        out[key.strip()] = yaml.safe_load(value) if value.strip() else value
    return out


@app.command("evaluate")
def evaluate(
    workload: str = typer.Option("resnet18:conv2", "--workload", "-w", help="e.g. resnet18:conv2, mobilenetv2"),
    sets: list[str] = typer.Option([], "--set", "-s", help="KNOB=VALUE (repeatable); others take defaults"),
    objective: str = typer.Option("energy", "--objective", help="energy, latency, edp, area or a+b"),
    lpf_limit: int = typer.Option(4, "--lpf-limit", help="ZigZag LOMA loop-prime-factor limit"),
    mapper: str = typer.Option("latency", "--mapper", help="ZigZag mapping criterion: latency, energy, EDP"),
    no_cache: bool = typer.Option(False, "--no-cache", help="do not read or write the evaluation cache"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Evaluate one design point (unset knobs take the tpu_like defaults)."""
    from archlab.cli._util import fail
    from archlab.core.space import SpaceError
    from archlab.problems.accel import AccelEvalError, AccelProblem

    try:
        problem = AccelProblem(workload, objective, lpf_limit=lpf_limit, mapper=mapper,  # type: ignore[arg-type]
                               cache=not no_cache)
        config = problem.space.with_defaults(parse_sets(sets))
        metrics = problem.evaluate(config)
    except (SpaceError, ValueError, AccelEvalError) as e:
        fail(str(e))
    if as_json:
        typer.echo(json.dumps({"workload": problem.workload.name, "config": config, "metrics": metrics},
                              sort_keys=True))
        return
    typer.echo(f"workload {problem.workload.name}: {problem.workload.description}")
    typer.echo("config   " + " ".join(f"{k}={v}" for k, v in config.items()))
    for k, v in metrics.items():
        typer.echo(f"  {k:24s} {v:.6g}")


@app.command("space")
def space() -> None:
    """List the knobs, their values and the default (tpu_like) point."""
    from archlab.problems.accel.hardware import KNOB_HELP, accel_space

    for d in accel_space():
        typer.echo(f"{d.name:14s} default={d.initial!r:8} values: {d.describe()}\n{'':14s} {KNOB_HELP[d.name]}")


@app.command("workloads")
def workloads(network: str = typer.Option(None, "--network", help="resnet18 or mobilenetv2")) -> None:
    """List workload names (whole networks and every conv layer)."""
    from archlab.cli._util import fail
    from archlab.problems.accel.workloads import NETWORKS, REPRESENTATIVE, list_workloads

    if network is not None and network not in NETWORKS:
        fail(f"unknown network {network!r}; allowed: {', '.join(NETWORKS)}")
    for w in list_workloads(network):
        mark = "*" if w.name in REPRESENTATIVE else " "
        typer.echo(f"{mark} {w.name:20s} {w.description}")



@app.command("tabulate")
def tabulate(
    subspace: str = typer.Option("accel-1024", "--subspace", help="declared subspace (archlab.problems.accel.subspaces)"),
    workloads: list[str] = typer.Option([], "--workload", "-w", help="layer(s) to tabulate (default: the subspace's)"),
    out: str = typer.Option("data/accel_tables", "--out", "-o", help="folder of the tables"),
    workers: int = typer.Option(2, "--workers", "-j", help="processes (or Dask workers)"),
    executor: str = typer.Option("local", "--executor", help="local (process pool) or dask"),
    address: str = typer.Option(None, "--address", help="Dask scheduler tcp://host:port (default: a LocalCluster)"),
    limit: int = typer.Option(None, "--limit", help="at most this many new ZigZag runs per layer (resume later)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the plan (points, cached) and stop"),
    no_progress: bool = typer.Option(False, "--no-progress", help="no progress bar"),
) -> None:
    """Evaluate every point of a declared subspace on each layer with ZigZag; write parquet tables.

    Resumable: evaluations land in the content-addressed cache as they finish, so a killed
    run restarts where it stopped. The tables are archlab tables: `TableProblem("accel/<net>-convN")`.
    """
    from archlab.cli._util import fail
    from archlab.core.space import SpaceError
    from archlab.problems.accel import AccelEvalError
    from archlab.problems.accel.subspaces import get
    from archlab.problems.accel.tabulate import SubspaceError, tabulate_layer

    try:
        sub = get(subspace)
        layers = list(workloads) or list(sub.workloads)
        typer.echo(f"subspace {sub.name}: {sub.size} points x {len(layers)} layer(s); varied knobs: "
                   f"{', '.join(sub.varied)}; lpf_limit={sub.lpf_limit}, mapper={sub.mapper}")
        for w in layers:
            run = tabulate_layer(sub, w, out, workers=workers, executor=executor, address=address,
                                 progress=not no_progress, limit=0 if dry_run else limit)
            state = "written" if run.written else "incomplete (run again to continue)"
            typer.echo(f"{run.workload}: {run.points} points, {run.cached} cached, {run.evaluated} run now "
                       f"({run.cpu_s:.0f} CPU s), {run.failed} failed -> {run.path}: {state}")
    except (SubspaceError, SpaceError, ValueError, AccelEvalError) as e:
        fail(str(e))
