"""How big each benchmark is: full size by default, every size shrunk with
``RUKUN_BENCH_SCALE=small`` (what ``rukun bench --small`` sets) so the whole bench proves it
works in well under two minutes."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    name: str
    #: Timed rounds of each measurement (the median is reported).
    rounds: int
    #: Steps fired per round by rukun and by the raw loop (row 1).
    fire_steps: int
    #: Workflow instances run to the end per round, per process length (row 2).
    spiff_instances: int
    #: Records of the long case (row 3) and the steps timed per round on it.
    long_history: int
    long_steps: int
    #: Cases of one bulk action (row 4), and how many bulk actions are timed.
    bulk_cases: int
    bulk_rounds: int
    #: History records of the small and of the large database verified (row 5); the
    #: small one fills at least one of verification's batches (500 cases of 10 records).
    verify_small: int
    verify_large: int
    #: Timed verifications of each database (one of a million records takes a minute).
    verify_rounds: int
    #: Cases of the small and of the large case list (row 6).
    list_small: int
    list_large: int
    #: Timed calls of each list measurement (the median and the p95 are reported).
    list_rounds: int


FULL = Sizes(
    name="full",
    rounds=5,
    fire_steps=300,
    spiff_instances=15,
    long_history=1000,
    long_steps=1000,
    bulk_cases=2000,
    bulk_rounds=3,
    verify_small=10_000,
    verify_large=1_000_000,
    verify_rounds=1,
    list_small=1000,
    list_large=100_000,
    list_rounds=200,
)
SMALL = Sizes(
    name="small",
    rounds=3,
    fire_steps=30,
    spiff_instances=1,
    long_history=50,
    long_steps=10,
    bulk_cases=40,
    bulk_rounds=3,
    verify_small=5000,
    verify_large=10_000,
    verify_rounds=1,
    list_small=200,
    list_large=2000,
    list_rounds=20,
)


def current() -> Sizes:
    """The sizes ``RUKUN_BENCH_SCALE`` asks for (``full`` or ``small``)."""
    scale = os.environ.get("RUKUN_BENCH_SCALE", "full")
    if scale not in ("full", "small"):
        raise ValueError(f"RUKUN_BENCH_SCALE={scale!r}: expected 'full' or 'small'")
    return SMALL if scale == "small" else FULL


SIZES = current()
