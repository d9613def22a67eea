"""``archlab gemm ...``: measure GEMMs and evaluate predictors (heavy imports inside commands)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(help="GEMM performance and energy: measure, import, evaluate.", no_args_is_help=True)

FORMATS = ("archlab", "gpperf-cutlass", "gpperf-tiled")


def load_dataset(spec: str):
    """``FORMAT:PATH[,PATH]`` -> schema table (raises ValueError naming the bad part)."""
    from archlab.gemm import importers, schema

    fmt, sep, paths_ = spec.partition(":")
    if not sep or not paths_:
        raise ValueError(f"--dataset {spec!r}: expected FORMAT:PATH[,PATH] with FORMAT one of {', '.join(FORMATS)}")
    if fmt not in FORMATS:
        raise ValueError(f"--dataset {spec!r}: unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
    files = [Path(p) for p in paths_.split(",") if p]
    for f in files:
        if not f.is_file():
            raise ValueError(f"--dataset {spec!r}: no such file {f}")
    if fmt == "archlab":
        import pandas as pd

        return pd.concat([schema.load(f) for f in files], ignore_index=True)
    if fmt == "gpperf-cutlass":
        if len(files) != 1:
            raise ValueError(f"--dataset {spec!r}: gpperf-cutlass takes one archive")
        return importers.read_gpperf_cutlass(files[0])
    if fmt == "gpperf-tiled":
        kinds: dict[str, Path] = {}
        for f in files:
            head = f.read_text(encoding="utf-8").split("\n", 1)[0]
            kind = "time" if "Execution Time" in head else "power" if "Average Power" in head else None
            if kind is None or kind in kinds:
                raise ValueError(f"{f}: line 1: expected a GPPerf tiled header "
                                 f"({','.join(importers.TILED_TIME)} or {','.join(importers.TILED_POWER)})")
            kinds[kind] = f
        return importers.read_gpperf_tiled(kinds.get("time"), kinds.get("power"))
    raise ValueError(f"--dataset {spec!r}: unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")


@app.command()
def measure(
    backend: str = typer.Option(..., "--backend", "-b", help="cpu or cuda"),
    out: Path | None = typer.Option(None, "--out", "-o", help="CSV to write (default data/gemm/<backend>.csv)"),
    run: str | None = typer.Option(None, "--run", help="cpu: a full harness run (params gemm.cpu_full) written "
                                   "to data/gemm/cpu_runs/<RUN>.csv"),
    smoke: bool = typer.Option(False, "--smoke", help="use the gemm section's smoke overlay"),
    reference: bool = typer.Option(False, "--reference",
                                   help="write the GPU reference dataset under data/gemm/reference/"),
    sensor: str | None = typer.Option(None, "--sensor", help="override params: none, nvml, rapl, auto"),
    force: bool = typer.Option(False, "--force", help="overwrite an existing --run or --reference dataset"),
) -> None:
    """Run a measurement sweep of params.yaml's gemm section and write a tidy dataset."""
    import subprocess

    from archlab.cli._util import fail
    from archlab.core import params, paths
    from archlab.gemm import schema, sensors

    if backend not in ("cpu", "cuda"):
        fail(f"--backend {backend!r}: allowed: cpu, cuda")
    if run is not None and (backend != "cpu" or not run.replace("-", "").replace("_", "").isalnum()):
        fail(f"--run {run!r}: a name of letters, digits, - and _ (cpu backend only)")
    try:
        P = params.load_section("gemm", smoke=smoke)
        C = params.load_section("common")
    except params.ParamsError as e:
        fail(str(e))
    if run is not None:
        folder = paths.data_dir("gemm") / "cpu_runs"
    else:
        folder = paths.data_dir("gemm") / ("reference" if reference else "")
    folder.mkdir(parents=True, exist_ok=True)
    out = out or folder / f"{run or backend}.csv"
    if (run is not None or reference) and out.exists() and not force:
        fail(f"{out.name} exists in {out.parent.name}/ (a committed measurement); "
             "pick another --run name or pass --force")
    command = (f"archlab gemm measure --backend {backend}" + (f" --run {run}" if run else "")
               + (" --reference" if reference else "") + (" --smoke" if smoke else ""))
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=paths.root()).stdout.strip() or None
        # uncommitted changes to the code or params the measurement depends on
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "lib", "params.yaml"],
                                    capture_output=True, text=True, cwd=paths.root()).stdout.strip())
    except OSError:
        commit, dirty = None, None
    try:
        if backend == "cpu":
            from archlab.studies.gemm import measure as gm

            s = P.cpu_full if run is not None else P.cpu
            include = P.cpu_test_shapes if run is not None else ()
            n = len(gm.configs(s, C.seed, include))
            typer.echo(f"cpu harness: {n} configurations x {s.passes} passes", err=True)
            m = gm.run_cpu(s, C.seed, out, include=include, sensor=sensor,
                           provenance={"command": command, "commit": commit, "dirty": dirty,
                                       "params": params.as_dict(s)})
            typer.echo(f"wrote {out} ({len(m.rows)} rows, {len(m.visits)} visits; pinned to core {m.core}; "
                       f"visits under load: {int(m.visits['loaded'].sum())})")
            return
        from archlab.gemm import cuda

        s = P.cuda
        cfgs = cuda.grid(s.shapes, s.blocks, s.warps, s.stages, s.dtypes)
        typer.echo(f"cuda sweep: {len(cfgs)} configurations", err=True)
        df = cuda.measure(cfgs, sensor or s.sensor, s, seed=C.seed)
        prov = {"backend": "cuda", **cuda.provenance(sensor or s.sensor)}
    except (ValueError, RuntimeError, sensors.SensorUnavailable) as e:
        fail(str(e))
    schema.save(df, out)
    prov |= {"command": command, "commit": commit, "dirty": dirty, "rows": len(df), "params": params.as_dict(P.cuda)}
    Path(str(out) + ".provenance.json").write_text(json.dumps(prov, indent=2, default=str) + "\n")
    typer.echo(f"wrote {out} ({len(df)} rows)")


@app.command()
def evaluate(
    dataset: str = typer.Option(..., "--dataset", "-d", help="FORMAT:PATH[,PATH]; FORMAT: " + ", ".join(FORMATS)),
    split: str = typer.Option("shape", "--split", help="random (GPPerf's row split) or shape (held-out shapes)"),
    model: str = typer.Option("all", "--model", help="gpperf-rf, analytical-gbm or all"),
    folds: int = typer.Option(5, "--folds", help="grouped folds for --split shape (0 = leave-one-shape-out)"),
    seed: int = typer.Option(42, "--seed"),
    drop_busy_tail: bool = typer.Option(False, "--drop-busy-tail",
                                        help="gpperf-cutlass: drop the sweep's busy-GPU tail"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
) -> None:
    """Fit and score the predictors; print R^2, mean and median APE per target and model."""
    from archlab.cli._util import fail

    if split not in ("random", "shape"):
        fail(f"--split {split!r}: allowed: random, shape")
    models = ("gpperf-rf", "analytical-gbm") if model == "all" else (model,)
    if any(m not in ("gpperf-rf", "analytical-gbm") for m in models):
        fail(f"--model {model!r}: allowed: gpperf-rf, analytical-gbm, all")
    from archlab.gemm import importers, schema
    from archlab.gemm import models as mo

    try:
        df = load_dataset(dataset)
        if drop_busy_tail:
            df = df[~importers.gpperf_busy_tail(df)].reset_index(drop=True)
        table, _ = mo.compare(df, splits=(split,), models=models, seed=seed, folds=folds)
    except (ValueError, FileNotFoundError, importers.ImportError_, schema.SchemaError) as e:
        fail(str(e))
    cols = ["model", "split", "target", "r2", "mean_ape", "median_ape", "r2_fold_mean", "r2_fold_sd",
            "n_rows", "n_shapes"]
    if as_json:
        typer.echo(json.dumps(table[cols].to_dict(orient="records"), indent=2))
    else:
        typer.echo(table[cols].to_string(index=False, float_format=lambda x: f"{x:.3f}"))


@app.command()
def heldout(
    dataset: str = typer.Option(..., "--dataset", "-d", help="FORMAT:PATH[,PATH]; FORMAT: " + ", ".join(FORMATS)),
    folds: int = typer.Option(5, "--folds", help="grouped folds by shape (0 = leave-one-shape-out)"),
    shuffles: int = typer.Option(10, "--shuffles", help="repeats of the grouped CV with different shuffles"),
    seed: int = typer.Option(0, "--seed"),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="resamples over shapes for the 95% CIs"),
    contaminated: str = typer.Option("drop", "--contaminated",
                                     help="drop or keep rows flagged by the busy-window rule (50%, 0.5, 30 min)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
) -> None:
    """Every model beside its baselines on held-out shapes: R² (log and plain), median and p90
    relative error with bootstrap CIs over shapes, and the margin over the best baseline."""
    from archlab.cli._util import fail

    if contaminated not in ("drop", "keep"):
        fail(f"--contaminated {contaminated!r}: allowed: drop, keep")
    from archlab.gemm import contamination, evaluation, importers, schema

    try:
        df = load_dataset(dataset)
        df = df[df["runtime_ms"].notna()].reset_index(drop=True)
        if contaminated == "drop":
            df = df[~contamination.busy_window(df)].reset_index(drop=True)
        groups = ("kernel", "dtype", "tile_m", "layout") if (df["backend"] == "cpu").all() else ()
        cv = evaluation.repeated_grouped_cv(df, evaluation.features(df),
                                            evaluation.factories(seed=seed, wave_groups=groups), folds, shuffles, seed)
        table = evaluation.bootstrap_summary(cv, n_resamples=bootstrap, seed=seed)
    except (ValueError, FileNotFoundError, importers.ImportError_, schema.SchemaError) as e:
        fail(str(e))
    if as_json:
        typer.echo(json.dumps(table.to_dict(orient="records"), indent=2, default=float))
    else:
        typer.echo(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
