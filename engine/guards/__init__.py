"""Guards: named, parametrised checks a transition must pass.

A guard is one function registered with :func:`engine.guards.registry.guard`; definitions
name it in YAML. :mod:`engine.guards.library` holds the built-in ones.
"""

from engine.guards import library as _library  # noqa: F401  (registers the built-in guards)
from engine.guards.registry import (
    REGISTRY,
    GuardContext,
    GuardResult,
    evaluate_guards,
    guard,
)

__all__ = ["REGISTRY", "GuardContext", "GuardResult", "evaluate_guards", "guard"]
