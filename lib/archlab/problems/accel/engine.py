"""Run ZigZag on one (config, workload): silenced, in a private temp dir, errors wrapped.

The stage pipeline is exactly ``zigzag.api.get_hardware_performance_zigzag``'s for a
digital (non-IMC) accelerator without inter-layer locality, minus its four save /
visualization stages (they only write files), so the numbers are ZigZag's own
(``tests/test_accel_fidelity.py`` checks this against the API).
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from pathlib import Path
from typing import Any, Literal

import yaml

from archlab.core.space import Config
from archlab.problems.accel.hardware import area_mm2, hardware_description, mapping_description
from archlab.problems.accel.workloads import Workload

Mapper = Literal["latency", "energy", "EDP"]


class AccelEvalError(RuntimeError):
    """ZigZag failed on a point (the message names the workload, config and ZigZag's error)."""


def zigzag_version() -> str:
    from importlib.metadata import version

    return version("zigzag-dse")


@contextlib.contextmanager
def quiet():
    """Silence ZigZag's loggers and any stray prints for the duration."""
    log = logging.getLogger("zigzag")
    level, propagate = log.level, log.propagate
    log.setLevel(logging.CRITICAL + 1)
    log.propagate = False
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        log.setLevel(level)
        log.propagate = propagate


def run_zigzag(accelerator_yaml: str, mapping_yaml: str, workload: Any, *, lpf_limit: int = 4,
               mapper: Mapper = "latency", dump_folder: str) -> list:
    """ZigZag's evaluation pipeline; returns the per-layer cost-model evaluations."""
    from zigzag.mapping.temporal_mapping import TemporalMappingType
    from zigzag.stages.evaluation.cost_model_evaluation import CostModelStage
    from zigzag.stages.main import MainStage
    from zigzag.stages.mapping.spatial_mapping_generation import SpatialMappingGeneratorStage
    from zigzag.stages.mapping.temporal_mapping_generator_stage import TemporalMappingGeneratorStage
    from zigzag.stages.parser.accelerator_parser import AcceleratorParserStage
    from zigzag.stages.parser.onnx_model_parser import ONNXModelParserStage
    from zigzag.stages.results.reduce_stages import (
        MinimalEDPStage,
        MinimalEnergyStage,
        MinimalLatencyStage,
        SumStage,
    )
    from zigzag.stages.workload_iterator import WorkloadStage

    opt = {"latency": MinimalLatencyStage, "energy": MinimalEnergyStage, "EDP": MinimalEDPStage}[mapper]
    stages = [ONNXModelParserStage, AcceleratorParserStage, SumStage, WorkloadStage, opt,
              SpatialMappingGeneratorStage, opt, TemporalMappingGeneratorStage, CostModelStage]
    main = MainStage(
        list_of_callables=stages, accelerator=accelerator_yaml, workload=workload, mapping=mapping_yaml,
        dump_folder=dump_folder, pickle_filename=f"{dump_folder}/cmes.pickle", loma_lpf_limit=lpf_limit,
        loma_show_progress_bar=False, nb_mappings_generated=3, enable_mix_spatial_mapping_generation=False,
        access_same_data_considered_as_no_access=True, temporal_mapping_type=TemporalMappingType("uneven"),
    )
    cmes = main.run()
    return [cme for cme, _ in cmes[0][1]]


def layer_metrics(cmes: list, dram_bw_bits: int) -> dict[str, float]:
    """Sum ZigZag's per-layer results into archlab metrics."""
    energy = sum(float(c.energy_total) for c in cmes)
    latency = sum(float(c.latency_total2) for c in cmes)
    dram_words = 0.0
    dram_energy = 0.0
    for c in cmes:
        for op, levels in c.memory_word_access.items():
            dram_words += sum(float(v) for v in levels[-1].data.values())
            dram_energy += float(c.mem_energy_breakdown[op][-1])
    macs = sum(float(c.layer.total_mac_count) for c in cmes)
    ideal = sum(float(c.ideal_cycle) for c in cmes)
    ideal_t = sum(float(c.ideal_temporal_cycle) for c in cmes)
    return {
        "energy_pJ": energy,
        "latency_cycles": latency,
        "edp": energy * latency,
        "mac_energy_pJ": sum(float(c.mac_energy) for c in cmes),
        "mem_energy_pJ": sum(float(c.mem_energy) for c in cmes),
        "dram_energy_pJ": dram_energy,
        "dram_traffic_bits": dram_words * dram_bw_bits,
        "ideal_cycles": ideal,
        "ideal_temporal_cycles": ideal_t,
        "macs": macs,
        "utilization": ideal / latency if latency else 0.0,
        "n_layers": float(len(cmes)),
    }


def evaluate_point(config: Config, workload: Workload, *, lpf_limit: int = 4,
                   mapper: Mapper = "latency") -> dict[str, float]:
    """Metrics of one validated config on one workload (raises :class:`AccelEvalError`)."""
    try:
        with tempfile.TemporaryDirectory(prefix="archlab-accel-") as tmp, quiet():
            hw, mp = Path(tmp) / "hardware.yaml", Path(tmp) / "mapping.yaml"
            hw.write_text(yaml.safe_dump(hardware_description(config), sort_keys=False))
            mp.write_text(yaml.safe_dump(mapping_description(config), sort_keys=False))
            cmes = run_zigzag(str(hw), str(mp), workload.model(), lpf_limit=lpf_limit, mapper=mapper,
                              dump_folder=str(Path(tmp) / "out"))
    except Exception as e:  # ZigZag raises assorted errors (AssertionError, ValueError, KeyError...)
        raise AccelEvalError(f"ZigZag failed on {workload.name} with {config}: "
                             f"{type(e).__name__}: {e}") from e
    if not cmes:
        raise AccelEvalError(f"ZigZag returned no layer for {workload.name}")
    metrics = layer_metrics(cmes, int(config["dram_bw_bits"]))
    metrics["area_mm2"] = area_mm2(config)
    return metrics
