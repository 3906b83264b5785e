"""Compatibility shim: ``cnnzoo/__init__.py`` imports ``Complexity`` and ``complexity`` from here.
The cost lives in :mod:`cnnzoo.cost`; delete this module once the package imports from there.
"""

from cnnzoo.cost import Complexity, complexity

__all__ = ["Complexity", "complexity"]
