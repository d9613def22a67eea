"""Exact DRAM tables: the table key's identities, the enumeration, the builder and the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from archlab.cli import _mount_groups, app
from archlab.problems.dram import KNOBS, Trace, prepare, simulate, simulate_many
from archlab.problems.dram.config import canonical_key
from archlab.problems.dram.table import (
    build_table,
    distinct_configs,
    resolve_table_trace,
    table_key,
    table_name,
)
from archlab.problems.table import TableProblem, load_table
from typer.testing import CliRunner


def _crafted_traces(n: int = 1500) -> list[Trace]:
    """Traces where the scheduler (row locality) and the refresh bounds (idle gaps) matter."""
    rng = np.random.default_rng(7)
    sparse = Trace(np.cumsum(rng.integers(1, 400, size=n)), rng.random(n) < 0.4,
                   rng.integers(0, 1 << 24, size=n) * 64, name="sparse")
    loc = Trace(np.arange(n), rng.random(n) < 0.3,
                rng.integers(0, 4, size=n) * (1 << 20) + rng.integers(0, 64, size=n) * 64, name="loc")
    return [sparse, loc, resolve_table_trace("pub_mixed", n)]


def test_table_key_identities_hold_on_crafted_traces():
    rng = np.random.default_rng(3)
    configs = KNOBS.sample_many(rng, 160)
    for c in configs[:60]:
        c["RequestBufferSize"] = 1
    for c in configs[60:120]:
        c["Arbiter"] = "Reorder"
    merged = [dict(zip(KNOBS.names, table_key(c))) for c in configs]
    assert sum(table_key(c) != canonical_key(c) for c in configs) > 80  # the identities are exercised
    for spec in ("DDR3-1600", "DDR4-2400"):
        for tr in _crafted_traces():
            pt = prepare(tr, spec)
            assert simulate_many(pt, configs) == simulate_many(pt, merged), (spec, tr.name)


def test_scheduler_and_pull_in_are_not_identities():
    """Knobs that never mattered on the 1-request-per-cycle traces do matter in general."""
    sparse, loc, _ = _crafted_traces()
    base = {**KNOBS.default(), "RefreshPolicy": "AllBank", "RequestBufferSize": 8, "Arbiter": "Fifo",
            "MaxActiveTransactions": 128}
    sched = {simulate(loc, {**base, "Scheduler": s}).makespan_ns for s in ("Fifo", "FrFcfs", "FrFcfsGrp")}
    assert len(sched) == 3
    pull = {simulate(sparse, {**base, "RefreshMaxPulledin": k}).energy_pJ for k in (1, 4, 8)}
    assert len(pull) == 3


def test_distinct_configs_match_table_key():
    frame, weights = distinct_configs()
    assert len(frame) == 4 * (7 * 9 + 1) * 65 * 26 == 432_640
    assert int(weights.sum()) == KNOBS.size == 1_769_472
    rows = {tuple(r): i for i, r in enumerate(frame.itertuples(index=False))}
    assert len(rows) == len(frame)
    rng = np.random.default_rng(0)
    for c in KNOBS.sample_many(rng, 3000):  # every raw point lands on its class's row
        assert table_key(c) in rows
    sample = frame.sample(2000, random_state=1)
    for r in sample.itertuples(index=False):  # rows are canonical
        assert table_key(dict(zip(KNOBS.names, r))) == tuple(r)
    # weights: count raw points of a few classes by brute force over their free knobs
    i = rows[table_key({**KNOBS.default()})]  # Simple arbiter, NoRefresh, RBS 1
    assert weights[i] == 8 * 8 * 8 * 3 * 3


@pytest.mark.parametrize("workers", [1, 2])
def test_build_table_matches_simulate_and_resumes(tmp_path, workers):
    logs: list[str] = []
    path = build_table("pub_random", n_requests=300, out_dir=tmp_path, workers=workers, chunk=64, limit=200,
                       log=logs.append)
    assert path.name == "pub_random-300.partial200.parquet"
    assert "0 done" in logs[0]
    t = load_table(path)
    assert len(t) == 200 and t.meta["n_requests"] == 300 and t.meta["canonicalizer"].endswith("table_key")
    tr = resolve_table_trace("pub_random", 300)
    for r in np.random.default_rng(0).choice(200, 25, replace=False):
        c = t.config_of(r)
        assert t.lookup([c])[0] == {k: float(v) for k, v in simulate(tr, c).as_dict().items()}
    logs.clear()
    build_table("pub_random", n_requests=300, out_dir=tmp_path, workers=workers, chunk=64, limit=200,
                log=logs.append)
    assert "4 chunks, 4 done" in logs[0]  # the rerun simulates nothing
    p = TableProblem(path, objective="latency+energy", target={"p0": 0.3, "budget": 10})
    assert p.difficulty is not None and p.difficulty.hit_probability >= 0.3


def test_table_names_and_trace_errors(monkeypatch, tmp_path):
    assert table_name("cloud-1") == "cloud-1"
    assert table_name("cloud-1", n_requests=1000) == "cloud-1-1000"
    assert table_name("pub_stream", "DDR4-2400") == "pub_stream-DDR4-2400"
    tr = resolve_table_trace("cloud-2", 500)
    assert len(tr) == 500 and tr.name == "cloud-2"
    assert len(resolve_table_trace("cloud-1")) == 10_000
    with pytest.raises(ValueError, match="allowed: pub_stream"):
        resolve_table_trace("cloud-3")
    monkeypatch.setenv("ARCHLAB_SHARED", str(tmp_path))
    with pytest.raises(ValueError, match="not found"):
        resolve_table_trace("cloud-1")


def test_cli_table(tmp_path):
    _mount_groups()
    runner = CliRunner()
    res = runner.invoke(app, ["dram", "table", "--trace", "pub_stream", "--requests", "100", "--limit", "40",
                              "--workers", "1", "--out-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "pub_stream-100.partial40.parquet").is_file()
    assert (tmp_path / "pub_stream-100.partial40.json").is_file()
    res = runner.invoke(app, ["dram", "table", "--trace", "nope", "--out-dir", str(tmp_path)])
    assert res.exit_code != 0 and "unknown table trace" in res.output


def test_cli_tables_from_params(tmp_path, monkeypatch):
    """`archlab dram tables --smoke` (the DVC stage's command) builds the listed tables."""
    import yaml
    from archlab.core import paths

    data = yaml.safe_load(paths.params_file().read_text())
    f = tmp_path / "params.yaml"
    f.write_text(yaml.safe_dump({"common": data["common"], "dram_tables": data["dram_tables"]}))
    monkeypatch.setenv("ARCHLAB_PARAMS", str(f))
    _mount_groups()
    res = CliRunner().invoke(app, ["dram", "tables", "--smoke"])
    assert res.exit_code == 0, res.output
    assert "dram/pub_stream-200.partial400" in res.output
    p = TableProblem("dram/pub_stream-200.partial400", objective="energy", target={"p0": 0.5, "budget": 5})
    assert len(p.table) == 400 and p.table.meta["command"] == "archlab dram tables --section dram_tables --smoke"
