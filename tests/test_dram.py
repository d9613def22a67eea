"""DRAM simulator: calibration point, hand-checked traces for every knob, traces, errors."""

import numpy as np
import pytest
from archlab.core.space import SpaceError
from archlab.problems.dram import (
    KNOBS,
    DramProblem,
    Trace,
    TraceError,
    generate_trace,
    read_trace,
    simulate,
    simulate_many,
    write_trace,
)
from archlab.problems.dram.trace import NLINES

TCK = 1.25  # ns per DDR3-1600 cycle
ROW = 1 << 16  # next row of bank 0 (row bits start at 16)


def trace(cycles, writes, addrs):
    return Trace(np.array(cycles), np.array(writes, bool), np.array(addrs))


def cycles(result):
    return round(result.makespan_ns / TCK)


def test_calibration_point_exact():
    r = simulate("pub_stream")
    assert (r.n_act, r.n_pre, r.n_rd, r.n_wr, r.n_ref) == (79, 71, 10_000, 0, 0)
    assert r.makespan_ns == 51_595.0
    assert r.energy_pJ == pytest.approx(85_957_050.0, abs=1e-3)
    assert round(r.avg_power_mW) == 1666


# (knob overrides, trace, DRAMSys makespan_ns, DRAMSys energy_pJ) from the public calibration set
DRAMSYS = [
    ({"PagePolicy": "Closed"}, "pub_stream", 472_350.0, 454_577_775.0),
    ({"RequestBufferSize": 4}, "pub_stream", 50_468.75, 85_348_875.0),
    ({"Arbiter": "Fifo"}, "pub_random", 431_070.0, 432_247_800.0),
    ({"RequestBufferSize": 8}, "pub_mixed", 65_491.25, 167_646_525.0),
    ({"RefreshPolicy": "AllBank"}, "pub_stream", 51_845.0, 86_988_300.0),
    ({"PagePolicy": "OpenAdaptive", "Scheduler": "FrFcfs", "SchedulerBuffer": "Shared", "RequestBufferSize": 6,
      "RespQueue": "Fifo", "RefreshMaxPostponed": 4, "RefreshMaxPulledin": 7, "Arbiter": "Reorder",
      "MaxActiveTransactions": 8}, "pub_stream", 50_291.25, 85_253_025.0),
    ({"PagePolicy": "ClosedAdaptive", "Scheduler": "Fifo", "RequestBufferSize": 8, "RespQueue": "Reorder",
      "RefreshPolicy": "AllBank", "RefreshMaxPostponed": 8, "RefreshMaxPulledin": 5,
      "MaxActiveTransactions": 4}, "pub_random", 79_602.50, 242_866_200.0),
]


@pytest.mark.parametrize("config,name,makespan,energy", DRAMSYS)
def test_matches_dramsys_runs(config, name, makespan, energy):
    r = simulate(name, config)
    assert r.makespan_ns == pytest.approx(makespan, rel=1e-3)
    assert r.energy_pJ == pytest.approx(energy, rel=1e-3)


def test_page_policies_two_hits():
    two = trace([0, 1], [0, 0], [0, 64])
    # Open: ACT@0, RD@10 (tRCD), RD@14 (tCCD), data ends 14 later
    assert cycles(simulate(two, {"PagePolicy": "Open"})) == 28
    # Closed: ACT@0, RDA@10, next ACT waits tRC=38, RDA@48, data ends @62
    closed = simulate(two, {"PagePolicy": "Closed"})
    assert (cycles(closed), closed.n_act, closed.n_pre) == (62, 2, 2)
    # ClosedAdaptive keeps the row open while a further hit waits (needs a buffer of 2)
    ca = simulate(two, {"PagePolicy": "ClosedAdaptive", "RequestBufferSize": 2})
    assert (cycles(ca), ca.n_act, ca.n_pre) == (28, 1, 1)


def test_open_adaptive_auto_precharges_on_waiting_miss():
    ab = trace([0, 1], [0, 0], [0, ROW])
    oa = simulate(ab, {"PagePolicy": "OpenAdaptive", "RequestBufferSize": 2})
    op = simulate(ab, {"PagePolicy": "Open", "RequestBufferSize": 2})
    # RDA@10 precharges at ACT+tRAS=28, ACT@38, RD@48: same timing as Open's explicit PRE
    assert cycles(oa) == cycles(op) == 62
    assert (oa.n_act, oa.n_pre) == (op.n_act, op.n_pre) == (2, 1)


def test_schedulers_row_hit_first_and_grouping():
    aba = trace([0, 1, 2], [0, 0, 0], [0, ROW, 64])
    fifo = simulate(aba, {"Scheduler": "Fifo", "RequestBufferSize": 8})
    frfcfs = simulate(aba, {"Scheduler": "FrFcfs", "RequestBufferSize": 8})
    assert (fifo.n_act, frfcfs.n_act) == (3, 2)
    assert cycles(frfcfs) < cycles(fifo)
    alt = trace(range(16), [i % 2 for i in range(16)], [64 * i for i in range(16)])
    grp = simulate(alt, {"Scheduler": "FrFcfsGrp", "RequestBufferSize": 8})
    plain = simulate(alt, {"Scheduler": "FrFcfs", "RequestBufferSize": 8})
    assert cycles(grp) < cycles(plain)  # fewer read/write turnarounds


def test_buffer_size_and_kinds():
    stream = [cycles(r) for r in simulate_many("pub_stream", [{"RequestBufferSize": k} for k in range(1, 9)])]
    assert stream == sorted(stream, reverse=True) and stream[0] == 41_276 and stream[-1] == 40_020
    rw = generate_trace("rw", 3000, seed=5)
    out = {b: cycles(simulate(rw, {"SchedulerBuffer": b, "RequestBufferSize": 2}))
           for b in ("Bankwise", "ReadWrite", "Shared")}
    assert len(set(out.values())) > 1


def test_response_queue_reorder_delays_responses():
    cfg = {"Scheduler": "FrFcfs", "RequestBufferSize": 8, "Arbiter": "Fifo", "MaxActiveTransactions": 8}
    fifo = simulate("pub_random", {**cfg, "RespQueue": "Fifo"})
    reorder = simulate("pub_random", {**cfg, "RespQueue": "Reorder"})
    assert reorder.mean_latency_ns > fifo.mean_latency_ns


def test_refresh_postpone_and_pull_in():
    sparse = trace([0, 20_000], [0, 0], [0, 64])
    refs = [simulate(sparse, {"RefreshPolicy": "AllBank", "RefreshMaxPulledin": k}).n_ref for k in (1, 2, 8)]
    assert refs == [4, 5, 11]  # idle controller: one regular + pulled-in refreshes at 6240, then one per tREFI
    assert simulate(sparse).n_ref == 0
    busy = [simulate("pub_stream", {"RefreshPolicy": "AllBank", "RefreshMaxPostponed": k}).n_ref
            for k in (1, 4, 8)]
    assert busy == [5, 2, 0]  # a busy controller postpones up to the bound, then forces


def test_arbiter_and_max_active_transactions():
    # one transaction at a time: 14 cycles per hit + tRCD per empty bank + tRP+tRCD per row conflict
    assert cycles(simulate("pub_stream", {"Arbiter": "Fifo"})) == 10_000 * 14 + 8 * 10 + 71 * 20
    assert cycles(simulate("pub_stream", {"Arbiter": "Reorder", "MaxActiveTransactions": 2})) < 141_500
    assert cycles(simulate("pub_stream", {"Arbiter": "Simple", "MaxActiveTransactions": 128})) == 41_276


def test_writes_and_ddr4():
    rw = simulate("pub_rw")
    assert rw.n_wr + rw.n_rd == 10_000 and rw.n_wr == int(generate_trace("pub_rw").is_write.sum())
    d4 = simulate("pub_stream", spec="DDR4-2400")
    assert d4.n_rd == 10_000 and d4.makespan_ns > 0 and d4.energy_pJ > 0


def test_simulate_many_equals_simulate():
    rng = np.random.default_rng(3)
    configs = KNOBS.sample_many(rng, 5)
    many = simulate_many("pub_mixed", configs)
    assert many == [simulate("pub_mixed", c) for c in configs]


def test_invalid_configs_list_allowed_values():
    with pytest.raises(SpaceError, match="allowed: 'Open', 'OpenAdaptive'"):
        simulate("stream", {"PagePolicy": "Shut"})
    with pytest.raises(SpaceError, match="unknown knob"):
        simulate("stream", {"PagePolcy": "Open"})
    with pytest.raises(SpaceError, match="integers 1..8"):
        simulate("stream", {"RequestBufferSize": 9})
    with pytest.raises(ValueError, match="allowed: DDR3-1600, DDR4-2400"):
        simulate("stream", spec="DDR5")


def test_public_traces_follow_the_spec_algorithm():
    assert np.array_equal(generate_trace("pub_stream").address, 64 * np.arange(10_000))
    rng = np.random.default_rng(11)
    assert np.array_equal(generate_trace("pub_random").address, rng.integers(0, NLINES, size=10_000) * 64)
    rng = np.random.default_rng(13)
    addr = rng.integers(0, NLINES, size=10_000) * 64
    rw = generate_trace("pub_rw")
    assert np.array_equal(rw.address, addr) and np.array_equal(rw.is_write, rng.random(10_000) < 0.3)
    mixed = generate_trace("pub_mixed")
    rng = np.random.default_rng(12)
    length = rng.integers(50, 301)
    start = rng.integers(0, NLINES)
    assert np.array_equal(mixed.address[:length] // 64, (start + np.arange(length)) % NLINES)
    assert len(mixed) == 10_000 and np.array_equal(mixed.cycle, np.arange(10_000))


def test_trace_roundtrip_and_errors(tmp_path):
    t = generate_trace("rw", 50, seed=2)
    p = write_trace(t, tmp_path / "t.stl")
    back = read_trace(p)
    assert np.array_equal(back.address, t.address) and np.array_equal(back.is_write, t.is_write)
    bad = tmp_path / "bad.stl"
    bad.write_text("0:\tread\t0x0\n1:\tfetch\t0x40\n")
    with pytest.raises(TraceError, match=r"bad.stl:2: malformed line"):
        read_trace(bad)
    bad.write_text("0:\tread\t0x0\n1:\tread\t0xZZ\n")
    with pytest.raises(TraceError, match=r"bad.stl:2"):
        read_trace(bad)
    bad.write_text("5:\tread\t0x0\n3:\tread\t0x40\n")
    with pytest.raises(TraceError, match=r"bad.stl:2: cycle 3 is before the previous cycle 5"):
        read_trace(bad)
    with pytest.raises(TraceError, match="unknown trace kind"):
        generate_trace("zipf", 10)


def test_problem_contract():
    p = DramProblem("pub_stream", objective="latency+energy")
    assert p.objectives == ("makespan_ns", "energy_pJ")
    default = p.evaluate(KNOBS.default())
    assert default["makespan_ns"] == 51_595.0
    assert p.target == pytest.approx({"makespan_ns": 0.8 * 51_595.0, "energy_pJ": 0.8 * 85_957_050.0})
    assert 0 < p.reward(default) < 1
    best = p.evaluate({**KNOBS.default(), "RequestBufferSize": 8})
    assert p.reward(best) > p.reward(default)
    easy = DramProblem("pub_stream", objective="latency", target=60_000.0)
    assert easy.reward(easy.evaluate(KNOBS.default())) == 1.0
    configs = KNOBS.sample_many(np.random.default_rng(0), 4)
    fresh = DramProblem("pub_stream", objective="latency+energy", target=p.target)
    assert p.evaluate_many(configs + configs) == [fresh.evaluate(c) for c in configs + configs]
    assert p.evaluate_many(configs)[0] == simulate("pub_stream", configs[0]).as_dict()
    d = p.describe()
    assert d["trace"] == "pub_stream" and d["spec"] == "DDR3-1600" and d["objective"] == "latency+energy"
    with pytest.raises(ValueError, match="allowed: latency, power, energy"):
        DramProblem("stream", objective="speed")
    with pytest.raises(ValueError, match="give target as a dict"):
        DramProblem("stream", objective="latency+power", target=1.0)
    with pytest.raises(SpaceError):
        p.evaluate({**KNOBS.default(), "Arbiter": "Magic"})


def test_unchecked_indexing_is_scoped():
    """Only functions compiled inside the block lose numba's negative-index wraparound."""
    from archlab.problems.dram.unchecked import unchecked_indexing
    from numba import njit
    from numba.np import arrayobj

    original = arrayobj.fix_integer_index
    with unchecked_indexing():
        assert arrayobj.fix_integer_index is not original
    assert arrayobj.fix_integer_index is original

    @njit
    def last(a):
        return a[-1]

    assert last(np.arange(5)) == 4
