"""``archlab dram``: simulate a trace, write a trace."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from archlab.cli._util import fail

app = typer.Typer(help="DRAM memory-controller simulator (DRAMSys/DRAMPower compatible).",
                  no_args_is_help=True)


def _parse_sets(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--set {item!r}: expected KNOB=VALUE")
        out[key.strip()] = value.strip()
    return out


@app.command("simulate")
def simulate_cmd(
    trace: Path | None = typer.Option(None, "--trace", help="DRAMSys .stl trace file"),
    kind: str | None = typer.Option(None, "--kind", help="generate a trace: stream, random, mixed, rw, pub_*"),
    n: int = typer.Option(10_000, "-n", help="requests of a generated trace"),
    seed: int = typer.Option(0, "--seed", help="seed of a generated trace"),
    spec: str = typer.Option("DDR3-1600", "--spec", help="DDR3-1600 or DDR4-2400"),
    set_: list[str] = typer.Option([], "--set", help="KNOB=VALUE (repeatable), e.g. PagePolicy=Closed"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Simulate a trace under a controller configuration (unset knobs take DRAMSys defaults)."""
    from archlab.core.space import SpaceError
    from archlab.problems.dram import TraceError, generate_trace, read_trace, simulate, validate_config

    if (trace is None) == (kind is None):
        fail("give exactly one of --trace FILE or --kind KIND")
    try:
        config = validate_config(_parse_sets(set_))
        tr = read_trace(trace) if trace is not None else generate_trace(kind, n, seed)
        result = simulate(tr, config, spec=spec)
    except (SpaceError, TraceError, ValueError) as e:
        fail(str(e))
    if as_json:
        typer.echo(json.dumps({"trace": tr.name, "spec": spec, "config": config, **result.as_dict()}, indent=2))
        return
    typer.echo(f"trace {tr.name} ({len(tr)} requests), {spec}")
    typer.echo("config: " + ", ".join(f"{k}={v}" for k, v in config.items()))
    for k, v in result.as_dict().items():
        typer.echo(f"  {k:>16}: {v:,.2f}" if isinstance(v, float) else f"  {k:>16}: {v:,}")


@app.command("trace")
def trace_cmd(
    kind: str = typer.Option(..., "--kind", help="stream, random, mixed, rw, or pub_stream/pub_random/..."),
    n: int = typer.Option(10_000, "-n", help="number of requests"),
    seed: int = typer.Option(0, "--seed", help="random seed (pub_* names use their fixed seeds)"),
    output: Path = typer.Option(..., "-o", "--output", help="output .stl file"),
) -> None:
    """Generate a DRAMSys .stl trace."""
    from archlab.problems.dram import TraceError, generate_trace, write_trace

    try:
        tr = generate_trace(kind, n, seed)
    except TraceError as e:
        fail(str(e))
    write_trace(tr, output)
    typer.echo(f"wrote {output} ({len(tr)} requests, {tr.n_writes} writes)")


@app.command("table")
def table_cmd(
    trace: list[str] = typer.Option(..., "--trace", help="pub_stream, pub_random, pub_mixed, pub_rw, cloud-1, "
                                    "cloud-2 (repeatable)"),
    spec: str = typer.Option("DDR3-1600", "--spec", help="DDR3-1600 or DDR4-2400"),
    requests: int | None = typer.Option(None, "--requests", help="first N requests of the trace "
                                        "(default: the whole 10,000-request trace)"),
    workers: int = typer.Option(2, "--workers", help="worker processes"),
    out_dir: Path | None = typer.Option(None, "--out-dir", help="default: data/dram_tables"),
    limit: int | None = typer.Option(None, "--limit", help="only the first N configurations (a partial table)"),
) -> None:
    """Simulate every distinct configuration of the ten-knob space on a trace and write the
    exact table (parquet) used by the `table` problem; resumable (rerun skips done chunks)."""
    from archlab.problems.dram import TraceError
    from archlab.problems.dram.table import build_table

    if workers < 1:
        fail(f"--workers must be >= 1, got {workers}")
    for t in trace:
        try:
            cmd = f"archlab dram table --trace {t} --spec {spec}" + (f" --requests {requests}" if requests else "")
            build_table(t, spec, requests, out_dir=out_dir, workers=workers, limit=limit, command=cmd,
                        log=lambda s: typer.echo(s, err=True))
        except (TraceError, ValueError, KeyError) as e:
            fail(str(e))


@app.command("tables")
def tables_cmd(
    section: str = typer.Option("dram_tables", "--section", help="params.yaml section"),
    smoke: bool = typer.Option(False, "--smoke", help="apply the section's smoke profile"),
) -> None:
    """Build every table listed in params.yaml `dram_tables` (the DVC stage `dram_tables`)."""
    from archlab.core import params
    from archlab.problems.dram import TraceError
    from archlab.problems.dram.table import build_table, table_names

    try:
        P = params.load_section(section, smoke=smoke)
        workers = P.workers or params.load_section("common").workers
    except params.ParamsError as e:
        fail(str(e))
    for t in P.traces:
        try:
            cmd = f"archlab dram tables --section {section}" + (" --smoke" if smoke else "")
            build_table(t, P.spec, P.requests, workers=workers, limit=P.limit, command=cmd,
                        log=lambda s: typer.echo(s, err=True))
        except (TraceError, ValueError, KeyError) as e:
            fail(str(e))
    typer.echo("tables: " + ", ".join(table_names(P)))
