"""Benchmarks of the engine against the raw database and against SpiffWorkflow; run them
with ``rukun bench`` (see ``benchmarks/RESULTS.md``)."""
