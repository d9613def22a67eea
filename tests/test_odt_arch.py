"""Backbones match the spec's layer tables; scaling knobs behave."""

import re

import pytest
from archlab.core import paths
from archlab.ondevice.arch import MODELS, arch

SPEC = paths.shared() / "specs" / "mcu_backbones.md"


def _spec_tables() -> dict[str, list[tuple]]:
    text = SPEC.read_text()
    out = {}
    for name, body in re.findall(r"### (\S+)\n(.*?)(?=\n### |\Z)", text, re.S):
        rows = []
        for line in body.splitlines():
            m = re.match(r"\| (\d+) \| (\d+)x(\d+)x\d+ \| (none|1x1 (\d+)->(\d+)) \| (\d), (\d) \| (\d+) \| "
                         r"(\d+)x(\d+)x\d+ \| (identity|none) \|", line)
            if m:
                g = m.groups()
                rows.append((int(g[1]), int(g[2]), None if g[3] == "none" else int(g[5]), int(g[6]), int(g[7]),
                             int(g[8]), int(g[9]), int(g[10]), g[11] == "identity"))
        out[name] = rows
    return out


@pytest.mark.skipif(not SPEC.is_file(), reason="shared spec not present")
def test_tables_match_spec_markdown():
    spec = _spec_tables()
    assert set(spec) == set(MODELS)
    for name, rows in spec.items():
        a = arch(name)
        assert a.n_blocks == len(rows)
        for b, (cin, hin, mid, k, s, midc, cout, hout, res) in enumerate(rows):
            convs = a.block_convs(b)
            first, dw, last = convs[0], next(c for c in convs if c.role == "dw"), convs[-1]
            assert (first.cin, first.in_hw) == (cin, hin)
            assert (dw.k, dw.stride, dw.cin) == (k, s, midc)
            assert (last.cout, last.out_hw) == (cout, hout)
            assert (mid is None) == (first.role == "dw")
            assert (b in a.residual_blocks) == res


def test_conv_counts_and_order():
    assert {m: arch(m).n_convs for m in MODELS} == {"mbv2-w0.35": 51, "mcunet-5fps": 42, "proxyless-w0.3": 60}
    a = arch("mbv2-w0.35")
    assert [c.role for c in a.convs[:6]] == ["first", "dw", "pw2", "pw1", "dw", "pw2"]
    assert all(c.index == i for i, c in enumerate(a.convs))
    assert a.feat_dim == 112 and arch("mcunet-5fps").feat_dim == 160 and arch("proxyless-w0.3").feat_dim == 96
    assert all(c.relu6 == (c.role != "pw2") for c in a.convs)


def test_scaling_knobs():
    base = arch("mcunet-5fps")
    small = arch("mcunet-5fps", width=0.5, resolution=32, depth=0.5)
    assert small.convs[0].out_hw == 16 and small.convs[0].cout == 8
    assert small.n_blocks < base.n_blocks and small.n_convs < base.n_convs
    assert arch("mcunet-5fps", resolution=64).n_convs == base.n_convs
    with pytest.raises(ValueError, match="unknown model"):
        arch("resnet")
    with pytest.raises(ValueError, match="depth"):
        arch("mbv2-w0.35", depth=0)
