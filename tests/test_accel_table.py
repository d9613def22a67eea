"""Tabulated accelerator spaces: ``archlab accel tabulate`` and the committed ZigZag tables.

The committed tables (data/accel_tables/) are reference data: a seeded sample of their rows is
re-run through ZigZag and must give identical energy and latency; a ZigZag or cost-model
version mismatch fails naming both versions (skipped only when ZigZag is not installed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from archlab.problems.accel.subspaces import ACCEL_1024, SUBSPACES, TINY, get
from archlab.problems.accel.tabulate import Subspace, SubspaceError, table_name, table_stem

REPO = Path(__file__).resolve().parents[1]
TABLES = sorted((REPO / "data" / "accel_tables").glob("*.parquet"))
OBJECTIVES = {"energy": "energy_pJ", "latency": "latency_cycles", "edp": "edp"}


def test_subspace_declarations_are_valid_products():
    for sub in SUBSPACES.values():
        pts = sub.points()
        assert len(pts) == sub.size == sub.space().size
        assert len({tuple(p.values()) for p in pts}) == len(pts)
        assert all(sub.space().validate(p) == p for p in pts[:50])
    assert ACCEL_1024.size == 1024
    assert set(ACCEL_1024.knobs["dataflow"]) == {"K-C", "K-OX", "C-OX", "OX-OY"}


def test_bad_subspaces_name_the_problem():
    with pytest.raises(SubspaceError, match="pe_depth"):
        Subspace("x", knobs={"pe_depth": (1, 2)})
    with pytest.raises(SubspaceError, match="pe_rows.*values"):
        Subspace("x", knobs={"pe_rows": (7,)})
    with pytest.raises(SubspaceError, match="mapper"):
        Subspace("x", knobs={}, mapper="fast")
    with pytest.raises(SubspaceError, match="declared: accel-1024"):
        get("nope")


def test_table_names():
    assert table_stem("resnet18:conv17") == "resnet18-conv17"
    assert table_name("mobilenetv2:conv50") == "accel/mobilenetv2-conv50"


def test_tabulate_resumes_and_tables_answer_like_zigzag(tmp_path, monkeypatch):
    """A 4-point subspace: a budgeted slice writes nothing, the rerun finishes from the cache,
    a third run is pure cache, and TableProblem answers exactly what AccelProblem computes."""
    from archlab.problems.accel import AccelProblem
    from archlab.problems.accel.tabulate import tabulate_layer
    from archlab.problems.registry import make_problem

    out = tmp_path / "tables"
    first = tabulate_layer(TINY, "mobilenetv2:conv50", out, workers=1, progress=False, limit=1)
    assert first.evaluated == 1 and not first.written and not first.path.exists()
    second = tabulate_layer(TINY, "mobilenetv2:conv50", out, workers=2, progress=False)
    assert second.cached == 1 and second.evaluated == 3 and second.written
    third = tabulate_layer(TINY, "mobilenetv2:conv50", out, workers=1, progress=False)
    assert third.evaluated == 0 and third.cached == 4
    problem = make_problem("table", workload=str(second.path), objective="latency")
    sim = AccelProblem("mobilenetv2:conv50", lpf_limit=2)
    for c in TINY.points():
        assert problem.evaluate(c) == {k: v for k, v in sim.evaluate(c).items() if k in problem.evaluate(c)}
    assert problem.table.meta["zigzag"] and problem.table.meta["lpf_limit"] == 2


def test_cli_tabulate_dry_run(tmp_path):
    from archlab.cli import _mount_groups, app
    from typer.testing import CliRunner

    _mount_groups()
    runner = CliRunner()
    res = runner.invoke(app, ["accel", "tabulate", "--subspace", "tiny", "--dry-run", "--no-progress",
                              "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "4 points" in res.output and "incomplete" in res.output
    res = runner.invoke(app, ["accel", "tabulate", "--subspace", "nope"])
    assert res.exit_code != 0 and "declared" in res.output


# ---- the committed tables --------------------------------------------------------------------
def test_committed_tables_exist():
    stems = {p.stem for p in TABLES}
    assert {table_stem(w) for w in ACCEL_1024.workloads} <= stems, f"missing tables; have {sorted(stems)}"


@pytest.mark.parametrize("path", TABLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
def test_committed_table_is_a_problem(path, objective):
    from archlab.problems.registry import make_problem

    name = f"accel/{path.stem}"
    p = make_problem("table", workload=name, objective=objective)
    t = p.table
    assert t.complete and len(t) == t.space.size == ACCEL_1024.size
    assert t.meta["subspace"]["name"] == ACCEL_1024.name and not t.meta["failed"]
    metric = OBJECTIVES[objective]
    col = t.frame[metric].to_numpy()
    assert np.isfinite(col).all() and p.optimum()[metric] == col.min()
    best = p.table.optimum_config(metric)
    assert p.evaluate(best)[metric] == col.min() and p.rank(col.min()) == 1
    assert 0 < p.reward(p.evaluate(p.space.default())) <= 1


@pytest.mark.parametrize("path", TABLES, ids=lambda p: p.stem)
def test_committed_table_rows_reproduce_with_zigzag(path):
    """Seeded rows re-run through ZigZag (no cache) give identical energy and latency."""
    pytest.importorskip("zigzag", reason="zigzag-dse is not installed; cannot re-check the table")
    from archlab.problems.accel.tabulate import TableVersionError, recheck

    try:
        df = recheck(f"accel/{path.stem}", n=2, seed=20260)
    except TableVersionError as e:
        pytest.fail(str(e))
    assert len(df) == 2
    assert (df.energy_table == df.energy_zigzag).all(), df
    assert (df.latency_table == df.latency_zigzag).all(), df


def test_version_mismatch_is_reported_clearly():
    from archlab.problems.accel.tabulate import TableVersionError, check_versions

    with pytest.raises(TableVersionError, match=r"zigzag-dse 0\.0\.1.*installed: zigzag-dse"):
        check_versions({"name": "accel/x", "zigzag": "0.0.1", "model": "accel-1", "command": "archlab accel tabulate"})
