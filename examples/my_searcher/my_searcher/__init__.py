"""An example archlab plugin: a searcher (``my_searcher.searcher``) and a toy design space
(``my_searcher.toy``), registered through entry points in ``pyproject.toml``."""
