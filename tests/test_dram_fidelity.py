"""Fidelity against the 280 public DRAMSys runs (skipped when the shared folder is absent)."""

import pytest
from archlab.core import paths
from archlab.problems.dram.calibration import CSV, compare, summary

pytestmark = pytest.mark.skipif(not (paths.shared() / CSV).exists(), reason="calibration set not available")


def test_rank_correlation_and_median_error_per_trace():
    s = summary(compare())
    assert set(s["trace"]) == {"pub_stream", "pub_random", "pub_mixed", "pub_rw"}
    assert (s["spearman"] >= 0.95).all(), s
    assert (s["median_rel_err"] <= 0.05).all(), s
    assert (s["max_rel_err"] <= 0.02).all(), s
