"""``archlab bench`` end to end on the smoke profile: the example plugin is installed, checked,
benched against the built-ins whose results come from the lottery's store (never re-run),
and found ranked in the report."""

from __future__ import annotations

import pytest
from archlab.cli import _mount_groups
from archlab.cli import app as cli_app
from plugin_helpers import _reload, install_example
from typer.testing import CliRunner

_mount_groups()
runner = CliRunner()


@pytest.fixture
def example(monkeypatch):
    monkeypatch.delenv("ARCHLAB_SEARCHERS", raising=False)  # restored after the test
    install_example()
    yield
    monkeypatch.undo()
    _reload()


@pytest.mark.slow
def test_bench_ranks_the_example_and_reuses_the_lottery_store(example, _isolated_outputs):
    from archlab.core import params
    from archlab.studies.lottery import run as lottery
    from archlab.workbook.bench import run_bench

    out = _isolated_outputs
    # the lottery study's sweep (smoke) fills data/lottery/store, as `dvc repro lottery` does
    P, C = params.load_section("lottery", smoke=True), params.load_section("common")
    T = lottery.execute(P, C)
    baseline_ids = set(T.runs["experiment_id"])

    check = runner.invoke(cli_app, ["check", "searcher", "one_plus_one", "--strict"])
    assert check.exit_code == 0, check.output
    res = runner.invoke(cli_app, ["bench", "--searcher", "one_plus_one", "--profile", "smoke"])
    assert res.exit_code == 0, res.output
    report = out / "reports" / "bench" / "one_plus_one" / "report.md"
    assert f"wrote {report}" in res.output
    text = report.read_text()
    assert "# Bench: `one_plus_one`" in text and "plugin from archlab-my-searcher" in text
    assert "**Result: `one_plus_one` ranks " in text and "| **one_plus_one** |" in text
    for fig in ("cd.png", "target_share.png", "curves.png", "rank_regret.png"):
        assert (report.parent / fig).stat().st_size > 1000 and f"({fig})" in text
    assert "Clopper–Pearson" in text and "Nemenyi CD" in text and "ms_per_proposal" in text

    # baselines came from the lottery's store; only the newcomer ran, into the bench's store
    R = run_bench("one_plus_one", profile="smoke")  # a rerun: everything is stored
    assert R.ran == {} and R.from_lottery == len(baseline_ids) and R.reused == R.experiments
    assert 1 <= R.rank <= R.searchers == len(P.searchers) + 1
    assert set(R.tables["ranks"]["searcher"]) == {*P.searchers, "one_plus_one"}
    share = R.tables["target_share"]
    mine = share[(share["searcher"] == "one_plus_one") & (share["condition"] == "tuned")].iloc[0]
    assert 0 <= mine["lo"] <= mine["share"] <= mine["hi"] <= 1 and mine["n"] == len(T.tasks) * P.eval_seeds

    # a built-in benched against the others: every experiment is the lottery's own (same ids)
    assert run_bench("ga", profile="smoke").ran == {}

    # a class that is not installed (package.module:Class) runs too; workers find it by name
    R2 = run_bench("test_checks:Good", profile="smoke", workers=2)
    assert set(R2.ran) == {"good_for_checks"} and R2.from_lottery == len(baseline_ids)
    assert "(not installed; declared for this run)" in R2.report.read_text()


def test_bench_errors_say_what_is_allowed(example):
    for args, msg in ((["--profile", "huge"], "--profile 'huge': allowed: quick, standard, smoke"),
                      (["--profile", "smoke", "--spaces", "dram"], "--spaces: ['dram'] not among"),
                      (["--set", "rate=99"], "rate"),
                      (["--searcher", "nope"], "unknown searcher 'nope'")):
        full = ["bench", *(["--searcher", "one_plus_one"] if "--searcher" not in args else []), *args]
        res = runner.invoke(cli_app, full)
        assert res.exit_code != 0 and msg in res.output, (args, res.output)


def test_overlay_store_routes_and_reads(tmp_path):
    import pandas as pd
    from archlab.sweep import Store
    from archlab.workbook.bench import OverlayStore

    def frame(eid, searcher):
        return pd.DataFrame({"experiment_id": [eid] * 2, "searcher": [searcher] * 2, "step": [0, 1],
                             "reward": [0.1, 0.2]})

    lottery, shared = Store(tmp_path / "lottery"), Store(tmp_path / "shared")
    lottery.write("a", frame("a", "ga"))
    before = sorted(p.name for p in (tmp_path / "lottery").rglob("*"))
    o = OverlayStore(tmp_path / "own", [lottery], shared=shared, own=["mine"])
    o.write("b", frame("b", "ga"))      # a built-in missing from the lottery: shared store
    o.write("c", frame("c", "mine"))    # the newcomer: its own store
    assert shared.done_ids() == {"b"} and Store(tmp_path / "own").done_ids() == {"c"}
    assert o.done_ids() == {"a", "b", "c"} and set(o.read(["reward"])["experiment_id"]) == {"a", "b", "c"}
    o.compact()
    assert sorted(p.name for p in (tmp_path / "lottery").rglob("*")) == before  # the lottery's store: only read
