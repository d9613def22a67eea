"""Compile numba kernels without negative-index wraparound.

numba gives every ``a[i]`` with a signed ``i`` Python's meaning of a negative index: it adds
``len(a)`` when ``i < 0``. That costs a compare and an add on every array access, and in the
DRAM kernel, whose accesses chase indices loaded from other arrays, it sits on the critical
path: compiling without it makes the kernel 1.2-1.4x faster. Only code that never indexes
with a negative number may be compiled this way (the DRAM kernel's tests compare its results
bit for bit with the checked build's).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from numba.core import types
from numba.np import arrayobj


def _no_wraparound(context, builder, idxty, idx, size):  # noqa: ANN001, ANN202 - numba codegen hook
    return context.cast(builder, idx, idxty, types.intp)


@contextmanager
def unchecked_indexing() -> Iterator[None]:
    """Functions compiled (or loaded from numba's cache) inside the block index without wraparound."""
    original = arrayobj.fix_integer_index
    arrayobj.fix_integer_index = _no_wraparound
    try:
        yield
    finally:
        arrayobj.fix_integer_index = original
