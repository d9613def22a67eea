"""GEMM performance and energy: measurement, importers, analytical and ML models, evaluation.

Modules: :mod:`schema` (the tidy dataset), :mod:`sensors` / :mod:`sampler` (power, cooldown,
steady loops), :mod:`timing`, :mod:`cpu` (the pinned, interleaved, load-logging CPU harness)
and :mod:`cuda` (GPU backend; GPU code is imported lazily), :mod:`importers` (GPPerf data),
:mod:`specs` / :mod:`analytical` (roofline, occupancy, waves, tensor-core peaks, cache tiling,
power), :mod:`contamination` (the busy-window rule), :mod:`models` (GPPerf's protocol as
published), :mod:`evaluation` (baselines and models under repeated grouped CV,
leave-one-value-out extrapolation, a sealed final test, bootstrap CIs over shapes),
:mod:`analysis` (tile-size tables).
"""
