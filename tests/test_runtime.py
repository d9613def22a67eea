import numpy as np
import pytest
from archlab.core import runtime
from threadpoolctl import threadpool_info


def _blas_threads() -> set[int]:
    return {p["num_threads"] for p in threadpool_info()}


def test_limit_threads_caps_and_restores_torch_and_native_pools():
    torch = pytest.importorskip("torch")
    old_torch, old_native = torch.get_num_threads(), _blas_threads()
    with runtime.limit_threads(1):
        assert torch.get_num_threads() == 1
        assert _blas_threads() <= {1}
    assert torch.get_num_threads() == old_torch and _blas_threads() == old_native
    with runtime.limit_threads(None):  # no cap
        assert torch.get_num_threads() == old_torch
    with pytest.raises(ValueError, match="threads must be >= 1"):
        with runtime.limit_threads(0):
            pass


def test_torch_isolated_forks_the_rng():
    torch = pytest.importorskip("torch")
    torch.manual_seed(5)
    expected = torch.rand(1)
    torch.manual_seed(5)
    with runtime.torch_isolated(seed=1):
        a = torch.rand(1)
    assert torch.equal(torch.rand(1), expected)  # the global stream did not move
    with runtime.torch_isolated(seed=1):
        assert torch.equal(torch.rand(1), a)


def test_set_threads_sets_the_environment_for_new_pools(monkeypatch):
    for var in runtime.THREAD_VARS:
        monkeypatch.setenv(var, "7")
    torch = pytest.importorskip("torch")
    old = torch.get_num_threads()
    try:
        runtime.set_threads(1)
        import os

        assert all(os.environ[v] == "1" for v in runtime.THREAD_VARS)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(old)


def test_rng_is_keyed_and_stable():
    a = runtime.rng(3, "ga", 2).integers(1 << 30, size=4)
    assert np.array_equal(a, runtime.rng(3, "ga", 2).integers(1 << 30, size=4))
    assert not np.array_equal(a, runtime.rng(3, "ga", 1).integers(1 << 30, size=4))
    with pytest.raises(ValueError, match="non-negative"):
        runtime.rng(-1)
    with pytest.raises(ValueError, match="at least one key"):
        runtime.rng()
