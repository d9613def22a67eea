"""Ask/tell searchers and their registry.

``names()`` lists the registered searchers, ``get(name)`` returns a class,
``make(name, space, seed, **hp)`` an instance, ``run(problem, searcher, budget)`` the
tidy evaluation log. Importing this package registers every built-in searcher (torch,
BoTorch and Optuna are imported only when a searcher that needs them is built).
"""

from archlab.search import (  # noqa: F401  (register)
    aco,
    bo,
    ga,
    optuna_searchers,
    random_search,
    random_walk,
    rl,
)
from archlab.search.base import Searcher, get, make, names, register, run

__all__ = ["Searcher", "get", "make", "names", "register", "run"]
