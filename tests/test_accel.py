"""archlab.problems.accel without ZigZag runs: space, translation, validation, cache, CLI errors."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest
import yaml
import zigzag
from archlab.core.problem import Problem
from archlab.core.space import SpaceError
from archlab.problems.accel import (
    AccelEvalError,
    AccelProblem,
    WorkloadError,
    accel_space,
    check,
    engine,
    hardware,
    hardware_description,
    mapping_description,
    parse_objective,
    parse_workload,
)
from archlab.problems.accel.cache import EvalCache, cache_key

ZIGZAG_INPUTS = Path(zigzag.__file__).parent / "inputs"


def test_default_point_is_zigzags_tpu_like():
    ours = hardware_description(accel_space().default())
    ref = yaml.safe_load((ZIGZAG_INPUTS / "hardware" / "tpu_like.yaml").read_text())
    ref_mems, our_mems = list(ref["memories"].values()), list(ours["memories"].values())
    assert len(ref_mems) == len(our_mems)
    for r, o in zip(ref_mems, our_mems):
        for key in ("size", "r_cost", "w_cost", "latency", "operands", "served_dimensions"):
            assert o[key] == pytest.approx(r[key]) if isinstance(r[key], float) else o[key] == r[key], key
        assert [(p["type"], p["bandwidth_min"], p["bandwidth_max"], sorted(p["allocation"])) for p in o["ports"]] \
            == [(p["type"], p["bandwidth_min"], p["bandwidth_max"], sorted(p["allocation"])) for p in r["ports"]]
    for key in ("unit_energy", "dimensions", "sizes", "systolic_dimensions"):
        assert ours["operational_array"][key] == ref["operational_array"][key]
    ref_map = yaml.safe_load((ZIGZAG_INPUTS / "mapping" / "tpu_like.yaml").read_text())
    assert mapping_description(accel_space().default())[0]["spatial_mapping"] == ref_map[0]["spatial_mapping"]


def test_sampled_points_pass_zigzags_validator():
    space = accel_space()
    for config in space.sample_many(np.random.default_rng(0), 60):
        assert check(config) == config


@pytest.mark.parametrize("override, needle", [
    ({"pe_rows": 17}, "pe_rows: 17 is not allowed; allowed: 4, 8, 16, 32, 64"),
    ({"dataflow": "X-Y"}, "dataflow: 'X-Y' is not allowed"),
    ({"bogus": 1}, "unknown knob(s) ['bogus']"),
    ({"gb_kib": "huge"}, "gb_kib: 'huge' is not allowed"),
])
def test_invalid_points_rejected_with_a_message(override, needle):
    config = {**accel_space().default(), **override}
    with pytest.raises(SpaceError) as e:
        AccelProblem("resnet18:conv1").evaluate(config)
    assert needle in str(e.value)


def test_zigzag_validator_reasons_are_reported(monkeypatch):
    def broken(config):
        hw = original(config)
        hw["memories"]["gb"]["ports"][0]["bandwidth_min"] = 10**6  # min > max
        return hw

    original = hardware.hardware_description
    monkeypatch.setattr(hardware, "hardware_description", broken)
    hardware._zigzag_reasons.cache_clear()
    try:
        with pytest.raises(hardware.InvalidAccelConfig, match="Minimum bandwidth is greater"):
            check(accel_space().default())
    finally:
        hardware._zigzag_reasons.cache_clear()


def test_workload_names():
    assert parse_workload("resnet18").name == "resnet18:all"
    assert parse_workload("resnet18:conv2").description.startswith("/layer1/layer1.0/conv1/Conv: 3x3")
    assert "groups=960" in parse_workload("mobilenetv2:conv50").description
    with pytest.raises(WorkloadError, match="resnet18 has conv1..conv20"):
        parse_workload("resnet18:conv21")
    with pytest.raises(WorkloadError, match="networks: resnet18, mobilenetv2"):
        AccelProblem("vgg16:conv1")
    model = parse_workload("resnet18:conv2").model()
    assert [n.op_type for n in model.graph.node] == ["Conv"]


def test_objectives_and_targets():
    assert parse_objective("energy+latency") == ("energy_pJ", "latency_cycles")
    assert parse_objective("edp") == ("edp",) and parse_objective("area") == ("area_mm2",)
    with pytest.raises(ValueError, match="allowed: energy, latency, edp, area"):
        parse_objective("power")
    p = AccelProblem("resnet18:conv2", "energy+area", target={"energy_pJ": 1e6, "area_mm2": 2.0})
    assert isinstance(p, Problem) and p.target == {"energy_pJ": 1e6, "area_mm2": 2.0}
    assert p.reward({"energy_pJ": 5e5, "area_mm2": 1.0}) == 1.0
    assert 0 < p.reward({"energy_pJ": 4e6, "area_mm2": 1.0}) < 1
    with pytest.raises(ValueError, match="not objectives"):
        AccelProblem("resnet18:conv2", "energy", target={"latency_cycles": 1.0})


def test_area_model_uses_zigzags_cacti_points():
    pool = yaml.safe_load((ZIGZAG_INPUTS.parent / "cacti" / "cacti_master" / "example_mem_pool.yaml").read_text())
    by = {(v["size_bit"], v["IO_bus_width"], str(v.get("technology"))): v["area"] for v in pool.values()}
    assert hardware.RF_MM2_PER_BIT * 1024 == by[(1024, 8, "0.022")]
    assert hardware.SRAM_MM2_PER_BIT * 16777216 == by[(16777216, 256, "0.022")]
    small = {**accel_space().default(), "gb_kib": 32}
    assert hardware.area_mm2(small) < hardware.area_mm2(accel_space().default())


def test_zigzag_failure_is_a_clear_error(monkeypatch, tmp_path):
    def boom(*a, **k):
        raise AssertionError("no valid temporal mapping")

    monkeypatch.setattr(engine, "run_zigzag", boom)
    p = AccelProblem("resnet18:conv1", cache_root=str(tmp_path), workers=1)
    with pytest.raises(AccelEvalError, match=r"ZigZag failed on resnet18:conv1 .*no valid temporal mapping"):
        p.evaluate(accel_space().default())
    with pytest.raises(AccelEvalError, match="1 of 1 evaluations failed"):
        p.evaluate_many([accel_space().default()] * 3)
    assert len(EvalCache(tmp_path)) == 0


def _writer(args: tuple) -> int:
    root, worker, n = args
    cache = EvalCache(root)
    for i in range(n):
        key = cache_key({"i": i % 10, "shared": True}) if i % 2 else cache_key({"w": worker, "i": i})
        cache.put(key, {"i": i}, {"energy_pJ": float(i % 10 if i % 2 else i)})
    return n


def test_cache_concurrent_writers_and_restart(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        assert sum(pool.map(_writer, [(str(tmp_path), w, 40) for w in range(4)])) == 160
    fresh = EvalCache(tmp_path)  # a new object = a restarted process
    assert len(fresh) == 4 * 20 + 5  # 20 private keys per writer + 5 keys all of them write
    for i in range(1, 40, 2):
        assert fresh.get(cache_key({"i": i % 10, "shared": True})) == {"energy_pJ": float(i % 10)}
    for w in range(4):
        assert fresh.get(cache_key({"w": w, "i": 38})) == {"energy_pJ": 38.0}
    assert not list(tmp_path.glob("*/*.tmp")), "temporary files left behind"
    (tmp_path / "ab").mkdir(exist_ok=True)
    (tmp_path / "ab" / ("ab" + "0" * 62 + ".json")).write_text("{truncated")
    assert fresh.get("ab" + "0" * 62) is None  # a corrupt entry is a miss, not a crash


def test_cli_rejects_bad_values():
    from archlab.cli.accel import app
    from typer.testing import CliRunner

    r = CliRunner().invoke(app, ["evaluate", "--set", "pe_rows=17"])
    assert r.exit_code != 0 and "pe_rows: 17 is not allowed" in r.output
    r = CliRunner().invoke(app, ["evaluate", "--workload", "resnet99"])
    assert r.exit_code != 0 and "unknown workload 'resnet99'" in r.output
    r = CliRunner().invoke(app, ["evaluate", "--set", "pe_rows"])
    assert r.exit_code != 0 and "expected KNOB=VALUE" in r.output


def test_pareto_mask_of_a_sample():
    from archlab.analysis.pareto import pareto_mask

    mask = pareto_mask(np.array([[1, 3], [2, 2], [3, 1], [2.5, 2.5], [0.5, 5]], float))
    assert mask.tolist() == [True, True, True, False, True]


@pytest.mark.parametrize("name", ["random", "ga", "random_walk"])
def test_searchers_run_on_accel_problem(name, monkeypatch, tmp_path):
    """The searcher interface on AccelProblem (ZigZag stubbed: the interface, not the numbers)."""
    from archlab.problems.accel import problem as accel_problem
    from archlab.search import base

    def fake(config, workload, **kw):
        e = 1e6 / (config["pe_rows"] * config["pe_cols"]) + config["gb_kib"]
        return {"energy_pJ": e, "latency_cycles": 2 * e, "edp": 2 * e * e, "area_mm2": 1.0}

    monkeypatch.setattr(accel_problem, "evaluate_point", fake)
    p = AccelProblem("resnet18:conv2", "energy+latency", target={"energy_pJ": 1e3, "latency_cycles": 2e3},
                     cache_root=str(tmp_path), workers=1)
    df = base.run(p, base.make(name, p.space, seed=0), budget=6)
    assert len(df) == 6 and df.reward.between(0, 1).all()
