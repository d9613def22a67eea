import numpy as np
import pytest
from archlab.core.space import Categorical, Integer, Ordinal, Real, Space, SpaceError

SPACE = Space([
    Categorical("policy", choices=("Open", "Closed"), default="Open"),
    Ordinal("mat", levels=(1, 2, 4, 8)),
    Integer("size", low=1, high=8),
    Real("lr", low=1e-4, high=1e-1, log=True),
])


def test_validate_names_knob_and_allowed_values():
    with pytest.raises(SpaceError, match=r"policy: 'Adaptive' is not allowed; allowed: 'Open', 'Closed'"):
        SPACE.validate({"policy": "Adaptive", "mat": 1, "size": 1, "lr": 0.01})
    with pytest.raises(SpaceError, match=r"unknown knob\(s\) \['bogus'\]"):
        SPACE.validate({"bogus": 1}, partial=True)
    with pytest.raises(SpaceError, match=r"size: 9 is not allowed; allowed: integers 1..8"):
        SPACE.validate({"size": 9}, partial=True)
    with pytest.raises(SpaceError, match="missing knob"):
        SPACE.validate({"policy": "Open"})


def test_cli_strings_are_coerced():
    assert SPACE.validate({"mat": "4", "size": "3"}, partial=True) == {"mat": 4, "size": 3}


def test_sampling_is_seeded_and_inside():
    a = SPACE.sample_many(np.random.default_rng(3), 50)
    b = SPACE.sample_many(np.random.default_rng(3), 50)
    assert a == b
    assert all(SPACE.contains(c) for c in a)
    assert a != SPACE.sample_many(np.random.default_rng(4), 50)


def test_index_and_unit_roundtrip():
    disc = Space(SPACE.dims[:3])
    for c in disc.sample_many(np.random.default_rng(0), 20):
        assert disc.from_index(disc.to_index(c)) == c
        assert disc.from_unit(disc.to_unit(c)) == c
    assert disc.size == 2 * 4 * 8
    lr = SPACE["lr"]
    assert lr.from_unit(lr.to_unit(0.01)) == pytest.approx(0.01)


def test_defaults():
    d = SPACE.default()
    assert d["policy"] == "Open" and d["mat"] == 1 and d["size"] == 1
    assert SPACE.with_defaults({"size": 5})["size"] == 5


def test_bad_definitions():
    with pytest.raises(SpaceError):
        Ordinal("x", levels=(4, 2))
    with pytest.raises(SpaceError):
        Integer("x", low=3, high=1)
    with pytest.raises(SpaceError):
        Real("x", low=0, high=1, log=True)
    with pytest.raises(SpaceError, match="duplicate"):
        Space([Integer("a", low=0, high=1), Integer("a", low=0, high=1)])
