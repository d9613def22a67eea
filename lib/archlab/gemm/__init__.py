"""GEMM performance and energy: measurement, importers, analytical and ML models.

Modules: :mod:`schema` (the tidy dataset), :mod:`sensors` / :mod:`sampler` (power),
:mod:`timing`, :mod:`cpu` and :mod:`cuda` (measurement backends; GPU code is imported
lazily), :mod:`importers` (GPPerf data), :mod:`specs` / :mod:`analytical` (roofline,
occupancy, cache tiling, power), :mod:`models` (ML predictors and their evaluation),
:mod:`analysis` (tile-size tables for the notebook).
"""
