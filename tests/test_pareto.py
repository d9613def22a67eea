"""archlab.analysis.pareto: fronts and hypervolumes on point sets with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from archlab.analysis.pareto import Normalizer, TrueFront, hypervolume, pareto_front, pareto_mask


def brute_mask(y: np.ndarray) -> np.ndarray:
    n = len(y)
    return np.array([not any((y[j] <= y[i]).all() and (y[j] < y[i]).any() for j in range(n)) for i in range(n)])


def test_mask_matches_brute_force_on_random_points():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 8, size=(200, 2)).astype(float)  # many ties and duplicates
    assert (pareto_mask(y) == brute_mask(y)).all()


def test_mask_of_frame_and_nan_rows():
    df = pd.DataFrame({"e": [1.0, 2.0, np.nan, 0.5], "l": [2.0, 1.0, 0.0, 3.0], "k": list("abcd")})
    assert pareto_mask(df, ["e", "l"]).tolist() == [True, True, False, True]
    assert pareto_front(df, ["e", "l"]).k.tolist() == ["d", "a", "b"]
    with pytest.raises(KeyError, match="missing"):
        pareto_mask(df, ["e", "zz"])


def test_hypervolume_of_a_staircase():
    # points (0,2), (1,1), (2,0) with reference (3,3): 3*1 + 2*1 + 1*1 = 6
    y = np.array([[0, 2], [1, 1], [2, 0], [2.5, 2.5]], float)
    assert hypervolume(y, 3.0) == pytest.approx(6.0)
    assert hypervolume(y[:1], 3.0) == pytest.approx(3.0)
    assert hypervolume(np.array([[4.0, 0.0]]), 3.0) == 0.0  # outside the reference box


def test_true_front_ratio_is_one_for_the_front_and_monotone_in_budget():
    rng = np.random.default_rng(1)
    table = pd.DataFrame({"energy": 10 ** rng.uniform(0, 3, 500), "latency": 10 ** rng.uniform(1, 4, 500)})
    tf = TrueFront.of(table, ["energy", "latency"])
    assert tf.ratio(tf.front) == pytest.approx(1.0)
    assert tf.ratio(table) == pytest.approx(1.0)
    trace = table.sample(200, random_state=0)
    curve = tf.ratio_curve(trace, [1, 10, 50, 200])
    assert (np.diff(curve) >= -1e-12).all() and 0 <= curve[0] <= curve[-1] <= 1 + 1e-12
    assert TrueFront.of(table, ["energy", "latency"], bounds="table").ratio(table) == pytest.approx(1.0)


def test_normalizer_maps_table_bounds_to_unit_box():
    y = np.array([[1.0, 10.0], [100.0, 1000.0], [10.0, 100.0]])
    n = Normalizer.fit(y)
    z = n(y)
    assert z.min(axis=0).tolist() == [0.0, 0.0] and z.max(axis=0).tolist() == [1.0, 1.0]
    assert z[2].tolist() == pytest.approx([0.5, 0.5])
    with pytest.raises(ValueError, match="positive"):
        Normalizer.fit(np.array([[0.0, 1.0]]))
