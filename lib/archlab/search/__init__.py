"""Ask/tell searchers and their registry.

``names()`` lists the registered searchers, ``get(name)`` returns a class,
``make(name, space, seed, **hp)`` an instance, ``run(problem, searcher, budget)`` the
tidy evaluation log. Importing this package registers every built-in searcher.
"""

from archlab.search import random_search  # noqa: F401  (registers)
from archlab.search.base import Searcher, get, make, names, register, run

__all__ = ["Searcher", "get", "make", "names", "register", "run"]
