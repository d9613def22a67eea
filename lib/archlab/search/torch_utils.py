"""Torch helpers shared by the model-based searchers (imported lazily: torch is heavy).

``isolated`` is :func:`archlab.core.runtime.torch_isolated` (the one runtime policy).
"""

from __future__ import annotations

from archlab.core.runtime import torch_isolated as isolated

__all__ = ["isolated"]
