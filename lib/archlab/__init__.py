"""archlab: a reproducible research workbook for ML-assisted computer architecture."""

__version__ = "0.1.0"
