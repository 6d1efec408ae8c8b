"""Rukun workflow engine: YAML-defined state machines for community-grant programs.

The engine has no web dependency; the admin UI, CLI and future APIs all go through
:mod:`engine.runtime`.
"""

__version__ = "0.1.0"
