"""One folder per study: ``params.py``, ``run.py`` (``run(P, C) -> Result``), ``figures.py``."""
