"""archlab.problems.accel against real ZigZag runs (kept few: one ZigZag call is seconds).

One session-scoped sample on mobilenetv2:conv50 (a small depthwise layer, LOMA lpf_limit=2)
feeds the monotonicity, parallel, cache-restart and CLI checks.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import zigzag
from archlab.problems.accel import AccelProblem, accel_space, parse_workload

WORKLOAD = "mobilenetv2:conv50"
BASE = {**accel_space().default(), "weights_in_gb": True}
GB = [{**BASE, "gb_kib": g} for g in (32, 256, 4096)]
ROWS = [{**BASE, "dataflow": "OX-OY", "pe_rows": r} for r in (4, 8, 16)]


@pytest.fixture(scope="session")
def sample(tmp_path_factory):
    """(cache parent, problem, configs, metrics): evaluated once, in 2 spawned processes."""
    parent = tmp_path_factory.mktemp("accel_cache")
    problem = AccelProblem(WORKLOAD, "energy+latency", lpf_limit=2, workers=2,
                           cache_root=str(parent / "accel" / "evals"))
    configs = GB + ROWS
    return parent, problem, configs, problem.evaluate_many(configs)


def test_tpu_like_in_our_space_equals_zigzags_own_result(tmp_path):
    from zigzag.api import get_hardware_performance_zigzag

    inputs = Path(zigzag.__file__).parent / "inputs"
    model = parse_workload(WORKLOAD).model()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        energy, latency, _ = get_hardware_performance_zigzag(
            model, str(inputs / "hardware" / "tpu_like.yaml"), str(inputs / "mapping" / "tpu_like.yaml"),
            opt="latency", lpf_limit=4, dump_folder=str(tmp_path / "zz"), loma_show_progress_bar=False)
    finally:  # the API configures the root logger; undo it
        root.handlers[:] = handlers
        root.setLevel(level)
    ours = AccelProblem(WORKLOAD, lpf_limit=4, cache=False).evaluate(accel_space().default())
    assert ours["energy_pJ"] == energy
    assert ours["latency_cycles"] == latency


def test_more_pes_never_increase_ideal_compute_cycles(sample):
    _, _, configs, metrics = sample
    rows = [m for c, m in zip(configs, metrics) if c in ROWS]
    for few, more in zip(rows, rows[1:]):
        assert more["ideal_cycles"] < few["ideal_cycles"]
        assert more["ideal_temporal_cycles"] <= few["ideal_temporal_cycles"]


def test_larger_buffer_never_increases_dram_traffic(sample):
    _, _, configs, metrics = sample
    traffic = [m["dram_traffic_bits"] for c, m in zip(configs, metrics) if c in GB]
    assert traffic == sorted(traffic, reverse=True) and traffic[0] > traffic[-1]


def test_metrics_are_complete_and_consistent(sample):
    _, problem, _, metrics = sample
    for m in metrics:
        assert m["energy_pJ"] > 0 and m["latency_cycles"] >= m["ideal_cycles"] > 0
        assert m["edp"] == pytest.approx(m["energy_pJ"] * m["latency_cycles"])
        assert m["energy_pJ"] == pytest.approx(m["mac_energy_pJ"] + m["mem_energy_pJ"])
        assert m["area_mm2"] > 0 and 0 <= problem.reward(m) <= 1


def test_parallel_equals_in_process(sample):
    _, _, configs, metrics = sample
    serial = AccelProblem(WORKLOAD, lpf_limit=2, cache=False).evaluate(configs[1])
    assert serial == metrics[1]


def test_cache_survives_restart_without_rerunning_zigzag(sample):
    parent, problem, configs, metrics = sample
    code = (
        "import json, sys\n"
        "from archlab.problems.accel import AccelProblem, engine\n"
        "def boom(*a, **k): raise SystemExit('ZigZag was called')\n"
        "engine.run_zigzag = boom\n"
        f"p = AccelProblem({WORKLOAD!r}, lpf_limit=2, workers=1, cache_root={problem.cache_root!r})\n"
        "print(json.dumps(p.evaluate_many(json.loads(sys.stdin.read()))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(configs), capture_output=True,
                         text=True, check=True, timeout=120)
    assert json.loads(out.stdout) == metrics


def test_cli_evaluate_json(sample, monkeypatch):
    from archlab.cli.accel import app
    from typer.testing import CliRunner

    parent, _, configs, metrics = sample
    monkeypatch.setenv("ARCHLAB_CACHE", str(parent))  # served from the session's cache
    sets = [f"--set={k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in configs[0].items()]
    r = CliRunner().invoke(app, ["evaluate", "--workload", WORKLOAD, "--lpf-limit", "2", "--json", *sets])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["config"] == configs[0] and out["metrics"] == metrics[0]
