"""TableProblem: lookup equals the simulator, exact weights, exact targets, clear errors."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from archlab.core import paths
from archlab.core.space import Categorical, Integer, Space, SpaceError
from archlab.problems import make_problem
from archlab.problems.table import (
    TableError,
    TableProblem,
    available_tables,
    canonical_configs,
    hit_probability_of_share,
    load_table,
    write_table,
)

# A toy space (referenced by the table metadata as "test_table:TOY"): b is irrelevant when a < 5.
TOY = Space([Integer("a", low=0, high=9), Categorical("b", choices=("x", "y", "z", "w"))])


def toy_canonical(c):
    return {"a": c["a"], "b": "x" if c["a"] < 5 else c["b"]}


def toy_cost(a: int, b: str) -> float:
    return float((a - 6) ** 2 + 0.5 * "xyzw".index(b) + 1.0)


def toy_energy(a: int, b: str) -> float:
    return float(10 - a + 2 * "xyzw".index(b) + 1.0)


def _write_toy(name: str = "toy/grid"):
    frame, weights = canonical_configs(TOY, toy_canonical)
    frame["cost_au"] = [toy_cost(a, b) for a, b in zip(frame.a, frame.b)]
    frame["energy_pJ"] = [toy_energy(a, b) for a, b in zip(frame.a, frame.b)]
    frame["weight"] = weights
    kind, stem = name.split("/")
    path = paths.out_root() / "data" / f"{kind}_tables" / f"{stem}.parquet"
    write_table(frame, path, {"name": name, "space": "test_table:TOY", "canonicalizer": "test_table:toy_canonical"})
    return path


def _raw_points():
    return [dict(a=a, b=b) for a, b in itertools.product(TOY["a"].values, TOY["b"].values)]


def test_weights_sum_to_raw_space():
    _write_toy()
    t = load_table("toy/grid")
    assert len(t) == 5 + 5 * 4
    assert t.total == TOY.size == 40 and t.complete
    assert t.meta["raw_size"] == 40 and t.meta["rows"] == 25


def test_lookup_matches_function_for_every_raw_point():
    _write_toy()
    p = make_problem("table", workload="toy/grid", objective="cost_au", target=2.0)
    raw = _raw_points()
    got = p.evaluate_many(raw)
    for c, m in zip(raw, got):
        cc = toy_canonical(c)
        assert m["cost_au"] == toy_cost(cc["a"], cc["b"])
    assert p.evaluate(raw[7]) == got[7]
    assert p.reward(p.evaluate({"a": 6, "b": "x"})) == 1.0


def _brute_share(threshold: float) -> float:
    vals = [toy_cost(**toy_canonical(c)) for c in _raw_points()]
    return sum(v <= threshold for v in vals) / len(vals)


def test_exact_tail_share_rank_regret_optimum():
    _write_toy()
    t = load_table("toy/grid")
    assert t.optimum("cost_au") == {"cost_au": 1.0}
    assert t.optimum_config("cost_au") == {"a": 6, "b": "x"}
    for thr in (1.0, 1.5, 2.0, 2.5, 5.0, 100.0):
        assert t.tail_share(thr, "cost_au") == pytest.approx(_brute_share(thr))
    assert t.rank(1.0, "cost_au") == 1
    assert t.rank(1.5, "cost_au") == 2          # only the optimum row is strictly better
    assert t.regret(1.5, "cost_au") == pytest.approx(0.5)


@pytest.mark.parametrize("p0,budget", [(0.3, 1), (0.3, 5), (0.5, 3), (0.9, 2), (0.05, 10), (0.999, 4)])
def test_target_for_matches_brute_force(p0, budget):
    _write_toy()
    t = load_table("toy/grid")
    vals = sorted({toy_cost(**toy_canonical(c)) for c in _raw_points()})
    # the hardest distinct value whose exact hit probability is >= p0
    want = next(v for v in vals if 1 - (1 - _brute_share(v)) ** budget >= p0)
    d = t.target_for(p0, budget, "cost_au")
    assert d.target == {"cost_au": want}
    assert d.hit_probability >= p0
    assert d.share == pytest.approx(_brute_share(want))
    assert d.hit_probability == pytest.approx(1 - (1 - d.share) ** budget)
    assert t.hit_probability(want, budget, "cost_au") == pytest.approx(d.hit_probability)
    prev = [v for v in vals if v < want]
    if prev:  # one step harder is below p0: the target is the closest from above
        assert 1 - (1 - _brute_share(prev[-1])) ** budget < p0


def test_target_for_known_answer():
    # shares: best row 10% of raw points; the next 30% -> budget 1: p0 = 0.1 -> best, p0 = 0.2 -> second
    space_ref = "test_table:TOY"
    frame, w = canonical_configs(TOY, toy_canonical)
    frame["cost_au"] = np.where(frame.a.to_numpy() < 1, 1.0, np.where(frame.a.to_numpy() < 4, 2.0, 3.0))
    frame["weight"] = w
    path = paths.out_root() / "data" / "toy_tables" / "steps.parquet"
    write_table(frame, path, {"space": space_ref, "canonicalizer": "test_table:toy_canonical"})
    t = load_table("toy/steps")
    assert t.target_for(0.1, 1, "cost_au").target == {"cost_au": 1.0}
    assert t.target_for(0.10001, 1, "cost_au").target == {"cost_au": 2.0}
    d = t.target_for(0.4, 1, "cost_au")
    assert d.target == {"cost_au": 2.0} and d.share == pytest.approx(0.4) and d.rows == 4
    # budget 2: 1 - 0.9^2 = 0.19 >= 0.19
    assert t.target_for(0.19, 2, "cost_au").target == {"cost_au": 1.0}
    assert t.rank(2.0, "cost_au") == 2  # one distinct row (a = 0) strictly better


def test_joint_objective_levels_are_exact():
    _write_toy()
    t = load_table("toy/grid")
    obj = ("cost_au", "energy_pJ")
    sc = t._sc(obj)
    for level, cum in zip(sc.levels, sc.level_cum):
        assert t.tail_count(sc.target_at(int(level)), obj) == cum
    d = t.target_for(0.5, 3, obj)
    assert set(d.target) == set(obj) and d.hit_probability >= 0.5
    brute = sum(toy_cost(**toy_canonical(c)) <= d.target["cost_au"]
                and toy_energy(**toy_canonical(c)) <= d.target["energy_pJ"] for c in _raw_points())
    assert d.count == brute
    p = TableProblem("toy/grid", objective="cost_au+energy_pJ", target={"p0": 0.5, "budget": 3})
    assert p.target == d.target and p.difficulty == d
    assert p.rank(t.optimum(obj)) == 1 and p.regret(t.optimum(obj)) == 0.0


def test_hit_probability_of_share():
    assert hit_probability_of_share(0.01, 250) == pytest.approx(1 - 0.99**250)
    assert hit_probability_of_share(0.0, 10) == 0.0
    assert hit_probability_of_share(1.0, 1) == 1.0
    assert hit_probability_of_share(1e-12, 3) == pytest.approx(3e-12)


def test_unknown_table_lists_available():
    _write_toy()
    with pytest.raises(TableError, match="available: .*toy/grid"):
        make_problem("table", workload="toy/nope", objective="cost_au", target=1.0)
    with pytest.raises(TableError, match="expected '<kind>/<name>'"):
        load_table("cloud-1")


def test_config_not_in_table_and_bad_config():
    frame, w = canonical_configs(TOY, toy_canonical)
    keep = frame.a.to_numpy() != 9  # a partial table
    frame = frame[keep].copy()
    frame["cost_au"] = 1.0
    frame["weight"] = w[keep]
    write_table(frame, paths.out_root() / "data" / "toy_tables" / "part.parquet",
                {"space": "test_table:TOY", "canonicalizer": "test_table:toy_canonical"})
    p = TableProblem("toy/part", objective="cost_au", target=1.0)
    assert not p.table.complete
    with pytest.raises(TableError, match="not in table"):
        p.evaluate({"a": 9, "b": "y"})
    with pytest.raises(SpaceError, match="not allowed"):
        p.evaluate({"a": 11, "b": "y"})
    with pytest.raises(SpaceError, match="missing"):
        p.evaluate({"a": 1})
    with pytest.raises(ValueError, match="not in the table"):
        TableProblem("toy/part", objective="latency", target=1.0)


def test_dram_lookup_equals_simulator(tmp_path):
    """A (partial) DRAM table of sampled configurations answers exactly as DramProblem."""
    from archlab.problems.dram import KNOBS, DramProblem
    from archlab.problems.dram.config import canonical_key

    sim = DramProblem("pub_random", objective="latency", target=1.0, n_requests=300)
    rng = np.random.default_rng(0)
    configs = KNOBS.sample_many(rng, 40)
    keys = list(dict.fromkeys(canonical_key(c) for c in configs))
    canon = [dict(zip(KNOBS.names, k)) for k in keys]
    frame = pd.DataFrame(canon)
    mets = pd.DataFrame(sim.evaluate_many(canon))
    frame = pd.concat([frame, mets], axis=1)
    frame["weight"] = 1
    path = tmp_path / "dram_part.parquet"
    write_table(frame, path, {"space": "archlab.problems.dram.config:KNOBS",
                              "canonicalizer": "archlab.problems.dram.config:canonical_key",
                              "objectives": "archlab.problems.dram.problem:parse_objective"})
    tp = TableProblem(str(path), objective="latency+energy",
                      target={"makespan_ns": 1e9, "energy_pJ": 1e12})
    assert tp.objectives == ("makespan_ns", "energy_pJ")
    assert tp.evaluate_many(configs) == sim.evaluate_many(configs)
    for c in configs[:5]:
        got = tp.evaluate(c)
        assert got == sim.evaluate(c)
        assert all(isinstance(v, float) for v in got.values())
    assert len(tp.describe()["table_digest"]) == 16


def test_available_tables_lists_written():
    _write_toy()
    assert "toy/grid" in available_tables()
    assert available_tables("toy") == ["toy/grid"]
