"""Sweeps: stable ids, expansion, atomic store, SIGKILL resume, local vs Dask identity."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from archlab.sweep import Experiment, Store, expand, load_evaluations, load_summaries, run_sweep
from archlab.sweep.plan import hp_draws, restrict
from archlab.sweep.spec import SweepSpec as LotteryParams
from archlab.sweep.store import CPU, WALL

SPEC = dict(problems=[{"problem": "synthetic", "workloads": ["a", "b"], "objectives": ["latency", "latency+power"],
                       "targets": ["q0.05", 70.0]}],
            searchers=["random"], seeds=2, budget=12, calibration_samples=32)


def _exps(n_seeds: int = 6, budget: int = 15, delay: float = 0.0) -> list[Experiment]:
    return [Experiment("synthetic", w, "latency", {"latency_ns": 55.0}, "random", {}, s, budget,
                       options={"delay_s": delay} if delay else {}) for w in ("a", "b") for s in range(n_seeds)]


def _stable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[WALL, CPU], errors="ignore").sort_values(["experiment_id", "step"]).reset_index(drop=True)


def test_experiment_id_is_stable_and_sensitive():
    e = _exps(1)[0]
    assert e.id == Experiment(**e.to_dict()).id
    assert len(e.id) == 16
    # a known value: the id must not drift between versions (it keys every stored result)
    assert e.id == Experiment("synthetic", "a", "latency", {"latency_ns": 55.0}, "random", {}, 0, 15).id
    changed = [Experiment(**{**e.to_dict(), k: v}).id for k, v in
               [("seed", 1), ("budget", 16), ("target", {"latency_ns": 56.0}), ("workload", "b"),
                ("hp", {"x": 1}), ("searcher", "ga")]]
    assert len(set(changed) | {e.id}) == 7
    # labels that do not change the result do not change the id
    assert Experiment(**{**e.to_dict(), "hp_draw": 5, "target_spec": "q0.1"}).id == e.id


def test_expand_counts_targets_and_error_messages(tmp_path):
    spec = LotteryParams(**SPEC)
    exps = expand(spec, 3, cache=tmp_path)
    assert len(exps) == 2 * 2 * 2 * 2  # workloads x objectives x targets x seeds (random has one draw)
    assert {e.seed for e in exps} == {3, 4}
    q = [e for e in exps if e.target_spec == "q0.05" and e.objective == "latency+power"][0]
    assert set(q.target) == {"latency_ns", "power_mW"}
    assert len(list(tmp_path.glob("*.json"))) == 4  # calibrations cached
    assert [e.id for e in expand(spec, 3, cache=tmp_path)] == [e.id for e in exps]
    with pytest.raises(ValueError, match="unknown searcher 'nope'"):
        expand(LotteryParams(**{**SPEC, "searchers": ["nope"]}), 0)
    with pytest.raises(ValueError, match="quantile"):
        expand(LotteryParams(**{**SPEC, "problems": [{**SPEC["problems"][0], "targets": ["q2"]}]}), 0)
    with pytest.raises(ValueError, match="fixed_hp: unknown searcher"):
        expand(LotteryParams(**{**SPEC, "fixed_hp": {"gaa": {}}}), 0)
    assert len(expand(LotteryParams(**{**SPEC, "fixed_hp": {"ga": {}}}), 3, cache=tmp_path)) == len(exps)


def test_hp_draws_random_and_grid_keep_earlier_draws():
    from archlab.core.space import Categorical, Integer, Real, Space
    from archlab.search import Searcher, register

    @register
    class _Toy(Searcher):
        name = "_toy_sweep"
        hyperparameters = Space([Integer("k", low=1, high=100, default=4), Real("r", low=0.001, high=1.0, log=True,
                                                                                 default=0.1),
                                 Categorical("mode", choices=("a", "b"), default="a")])

        def _ask(self):
            return self.space.sample(self.rng)

    space = _Toy.hyperparameters
    d5 = hp_draws("_toy_sweep", space, 5, seed=9)
    d8 = hp_draws("_toy_sweep", space, 8, seed=9)
    assert d8[:5] == d5 and d5[0] == (0, {"k": 4, "r": 0.1, "mode": "a"})
    assert all(1 <= hp["k"] <= 100 for _, hp in d8)
    narrowed = hp_draws("_toy_sweep", space, 30, seed=9, ranges={"k": [2, 3], "mode": ["b"]}, fixed={"r": 0.5})
    assert {hp["k"] for k, hp in narrowed if k} <= {2, 3} and {hp["mode"] for k, hp in narrowed if k} == {"b"}
    assert {hp["r"] for _, hp in narrowed} == {0.5}
    assert len(narrowed) == 3  # defaults + the two distinct (k, mode) combinations left
    grid = hp_draws("_toy_sweep", space, 1, seed=9, mode="grid", grid_levels=3)
    assert len(grid) == 1 + 3 * 3 * 2
    with pytest.raises(ValueError, match="hp_ranges.k"):
        restrict(space, {"k": [0, 5]}, "hp_ranges")
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        restrict(space, {"zz": [0, 5]})


def test_store_roundtrip_resume_and_compaction(tmp_path):
    store = Store(tmp_path / "store")
    exps = _exps(3)
    r1 = run_sweep(exps[:4], store, workers=1, progress=False, compact=False)
    assert (r1.ran, r1.skipped) == (4, 0) and len(list(store.parts.glob("*.parquet"))) == 4
    stray = store.parts / f".{exps[5].id}.parquet.dead.tmp"  # what a writer killed mid-write leaves
    stray.write_bytes(b"PAR1 truncated")
    assert exps[5].id not in store.done_ids() and len(store.read()) == 4 * 15
    r2 = run_sweep(exps, store, workers=2, progress=False)
    assert not stray.exists()
    assert (r2.ran, r2.skipped) == (2, 4)
    assert not list(store.parts.glob("*.parquet")) and len(list(store.root.glob("compact-*.parquet"))) == 1
    ev = load_evaluations(tmp_path)  # the parent folder works too
    assert len(ev) == 6 * 15 and not ev.duplicated(["experiment_id", "step"]).any()
    assert {c for c in ev.columns if c.startswith("knob.")} >= {"knob.PagePolicy", "knob.Scheduler"}
    assert WALL not in ev.columns and CPU not in ev.columns and {"hp", "seed", "budget", "reward", "latency_ns"} <= set(ev.columns)
    s = load_summaries(store.root)
    assert len(s) == 6 and s["wall_s"].gt(0).all()
    assert (s["best_reward"] <= 1).all() and (s["met_target"] == (s["best_reward"] >= 1)).all()
    # a crash between writing the compacted file and deleting the parts leaves copies: readers drop them
    part = store.write(exps[0].id, _stable(store.read()).query(f"experiment_id == '{exps[0].id}'"))
    assert part.exists() and len(load_evaluations(store.root)) == 6 * 15
    store.compact()
    assert len(load_evaluations(store.root)) == 6 * 15 and not part.exists()


def test_failed_experiment_is_recorded_and_skipped(tmp_path):
    store = Store(tmp_path)
    bad = Experiment("synthetic", "a", "nonsense", {"latency_ns": 1.0}, "random", {}, 0, 5)
    r = run_sweep([bad, *_exps(1)], store, workers=1, progress=False)
    assert r.failed == 1 and "unknown part" in store.failures()[0]["error"]
    assert run_sweep([bad], store, workers=1, progress=False).ran == 0
    assert run_sweep([bad], store, workers=1, progress=False, retry_failed=True).failed == 1


KILLED = textwrap.dedent("""
    import sys
    from archlab.sweep import Experiment, Store, run_sweep
    exps = [Experiment("synthetic", w, "latency", {"latency_ns": 55.0}, "random", {}, s, 15,
                       options={"delay_s": 0.01}) for w in ("a", "b") for s in range(6)]
    run_sweep(exps, Store(sys.argv[1]), workers=2, progress=False, compact_every=2)
""")


def test_sigkill_mid_sweep_resumes_without_loss_or_duplicates(tmp_path):
    ref = Store(tmp_path / "ref")
    run_sweep(_exps(6, delay=0.01), ref, workers=2, progress=False)
    expected = _stable(ref.read())
    store = Store(tmp_path / "killed")
    script = tmp_path / "sweep.py"
    script.write_text(KILLED)
    kills = 0
    for wait_parts in (2, 5):  # kill twice, at different points (compaction runs every 2 parts)
        proc = subprocess.Popen([sys.executable, str(script), str(store.root)], start_new_session=True,
                                env={**os.environ})
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            if len(store.done_ids()) >= wait_parts:
                break
            time.sleep(0.02)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        got = _stable(store.read())  # every stored experiment is complete
        assert got.groupby("experiment_id").size().eq(15).all()
    assert kills >= 1
    run_sweep(_exps(6, delay=0.01), store, workers=2, progress=False)
    got = _stable(store.read())
    assert not list(store.root.rglob("*.tmp"))  # temp files of killed writes are cleaned on resume
    pd.testing.assert_frame_equal(got[expected.columns], expected)


def test_dask_localcluster_matches_local_bit_for_bit(tmp_path):
    exps = _exps(2)
    local, dask = Store(tmp_path / "local"), Store(tmp_path / "dask")
    run_sweep(exps, local, executor="local", workers=2, progress=False)
    r = run_sweep(exps, dask, executor="dask", workers=2, progress=False, dask_processes=False)
    assert r.ran == len(exps)
    pd.testing.assert_frame_equal(_stable(dask.read()), _stable(local.read()))
    assert Path(dask.root).is_dir()


def test_ids_follow_the_code(tmp_path, monkeypatch, request):
    """Ids include a fingerprint of the searcher's and the problem's source: editing either
    gives new ids (so the store re-runs them), other searchers keep theirs."""
    from archlab.sweep import fingerprint, plan

    request.addfinalizer(fingerprint.code_version.cache_clear)  # drop fingerprints of the edited file

    assert fingerprint.code_version("random", "synthetic") == fingerprint.code_version("random", "synthetic")
    assert fingerprint.code_version("random", "synthetic") != fingerprint.code_version("ga", "synthetic")
    assert fingerprint.code_version("random", "synthetic") != fingerprint.code_version("random", "dram")
    e = Experiment("synthetic", "a", "latency", {"latency_ns": 55.0}, "random", {}, 0, 15)
    before = e.id

    extra = tmp_path / "searcher_under_edit.py"
    extra.write_text("A = 1\n")
    real = fingerprint.module_sources
    monkeypatch.setattr(fingerprint, "module_sources", lambda m: real(m) + [extra])
    fingerprint.code_version.cache_clear()
    edited = fingerprint.code_version("random", "synthetic")
    extra.write_text("A = 2\n")
    fingerprint.code_version.cache_clear()
    assert fingerprint.code_version("random", "synthetic") != edited

    monkeypatch.setattr(plan, "code_version", lambda s, p: "edited")
    assert e.id != before


def test_planned_only_reads_the_latest_plan(tmp_path):
    """Results of experiments dropped from the plan stay on disk, but planned_only leaves them out."""
    from archlab.studies.proxy.search import logged_evaluations

    exps = _exps(2, budget=5)
    store = Store(tmp_path / "store")
    assert store.planned_ids() is None
    run_sweep(exps, store, workers=1, progress=False)
    run_sweep(exps[:2], store, workers=1, progress=False)  # a smaller plan: nothing is re-run
    assert store.planned_ids() == {e.id for e in exps[:2]}
    assert set(load_evaluations(store.root)["experiment_id"]) == {e.id for e in exps}
    planned = load_evaluations(store.root, planned_only=True)
    assert set(planned["experiment_id"]) == {e.id for e in exps[:2]} and len(planned) == 2 * 5
    assert len(logged_evaluations(tmp_path, "synthetic")) == 2 * 5


def test_prune_deletes_only_unplanned(tmp_path):
    """prune keeps exactly the given ids, in parts and in compacted files alike."""
    exps = _exps(3, budget=4)
    store = Store(tmp_path / "store")
    run_sweep(exps[:4], store, workers=1, progress=False, compact=True)  # these 4 end up compacted
    run_sweep(exps, store, workers=1, progress=False, compact=False)  # the other 2 stay parts
    keep = {e.id for e in exps[1:5]}
    before = load_evaluations(store.root)
    assert store.prune(keep, dry_run=True) == {exps[0].id, exps[5].id}
    pd.testing.assert_frame_equal(load_evaluations(store.root), before)  # a dry run deletes nothing
    assert store.prune(keep) == {exps[0].id, exps[5].id}
    assert store.done_ids() == keep
    pd.testing.assert_frame_equal(load_evaluations(store.root),
                       before[before["experiment_id"].isin(keep)].reset_index(drop=True))
    assert store.prune(keep) == set()
