"""Workloads from the ONNX networks ZigZag ships (resnet18, mobilenetv2).

Names: ``<net>`` or ``<net>:all`` is the whole network (every layer ZigZag parses:
convolutions and the classifier GEMM); ``<net>:convN`` is the N-th ``Conv`` node in graph
order (1-based, downsample and depthwise convolutions included), evaluated as a
one-node ONNX model with the shapes inferred from the full network.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

NETWORKS = ("resnet18", "mobilenetv2")
#: a few representative layers (used by the notebook and the docs)
REPRESENTATIVE = {
    "resnet18:conv1": "7x7 stem, C=3 K=64, 112x112 output",
    "resnet18:conv2": "3x3, C=K=64, 56x56",
    "resnet18:conv17": "3x3, C=K=512, 7x7",
    "mobilenetv2:conv2": "3x3 depthwise, 32 groups, 112x112",
    "mobilenetv2:conv3": "1x1 pointwise, C=32 K=16, 112x112",
    "mobilenetv2:conv50": "3x3 depthwise, 960 groups, 7x7",
}
_NAME = re.compile(r"^(?P<net>[a-z0-9]+)(?::(?P<layer>all|conv(?P<n>[0-9]+)))?$")


class WorkloadError(ValueError):
    """Unknown network or layer (the message lists what exists)."""


@dataclass(frozen=True)
class Workload:
    name: str       # canonical: "resnet18:all" or "resnet18:conv2"
    network: str
    layer: int | None  # 1-based conv index, None for the whole network
    description: str

    def model(self):
        """The ONNX ModelProto ZigZag parses (whole network or one Conv node)."""
        full = _inferred(self.network)
        if self.layer is None:
            return full
        from onnx import helper

        node = _convs(self.network)[self.layer - 1]
        info = {v.name: v for v in (*full.graph.value_info, *full.graph.input, *full.graph.output)}
        graph = helper.make_graph([node], f"{self.network}_conv{self.layer}",
                                  [info[node.input[0]]], [info[node.output[0]]])
        return helper.make_model(graph, opset_imports=full.opset_import)


def onnx_path(network: str) -> Path:
    import zigzag

    return Path(zigzag.__file__).parent / "inputs" / "workload" / f"{network}.onnx"


@functools.cache
def _inferred(network: str):
    import onnx

    model = onnx.load(str(onnx_path(network)), load_external_data=False)  # weights are not shipped
    return onnx.shape_inference.infer_shapes(model)


@functools.cache
def _convs(network: str) -> tuple:
    return tuple(n for n in _inferred(network).graph.node if n.op_type == "Conv")


def _describe_conv(network: str, index: int) -> str:
    node = _convs(network)[index - 1]
    full = _inferred(network)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in (*full.graph.value_info, *full.graph.input, *full.graph.output)}
    attrs = {a.name: (list(a.ints) if a.ints else a.i) for a in node.attribute}
    i, o = shapes[node.input[0]], shapes[node.output[0]]
    k = "x".join(map(str, attrs.get("kernel_shape", [])))
    g = attrs.get("group", 1)
    return f"{node.name}: {k} conv, C={i[1]} K={o[1]} groups={g}, {o[2]}x{o[3]} output"


def n_convs(network: str) -> int:
    return len(_convs(network))


def parse(name: str) -> Workload:
    """Resolve a workload name (``resnet18:conv2``, ``mobilenetv2``, ``resnet18:all``)."""
    m = _NAME.match(str(name).strip().lower())
    net = m.group("net") if m else None
    if net not in NETWORKS:
        raise WorkloadError(f"unknown workload {name!r}; networks: {', '.join(NETWORKS)} "
                            "(write <net>, <net>:all or <net>:convN)")
    if m.group("n") is None:
        return Workload(f"{net}:all", net, None, f"whole {net} (every Conv/Gemm layer)")
    n, total = int(m.group("n")), n_convs(net)
    if not 1 <= n <= total:
        raise WorkloadError(f"{name!r}: {net} has conv1..conv{total}")
    return Workload(f"{net}:conv{n}", net, n, _describe_conv(net, n))


def list_workloads(network: str | None = None) -> list[Workload]:
    """Every single-layer workload (plus the whole network) of one or all networks."""
    out = []
    for net in NETWORKS if network is None else (network,):
        out.append(parse(net))
        out.extend(parse(f"{net}:conv{i}") for i in range(1, n_convs(net) + 1))
    return out
