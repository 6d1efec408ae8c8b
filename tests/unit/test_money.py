"""Money on screen: the amounts and words lokal-id gives, written without importing lokal
(which costs a command ~0.11 s at start-up)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lokal import format_rupiah, terbilang

from engine.money import format_money, in_words

#: Up to the largest amount lokal's ``terbilang`` writes (999 kuintiliun and change).
LARGEST = 10**21 - 1
AMOUNTS = st.integers(min_value=-LARGEST, max_value=LARGEST)
#: Where the words change: each power of ten and its neighbours.
EDGES = sorted({10**k + d for k in range(22) for d in (-1, 0, 1)} - {10**21, 10**21 + 1})


@given(AMOUNTS)
def test_amounts_are_grouped_as_lokal_groups_them(amount: int) -> None:
    sign = "-" if amount < 0 else ""
    assert format_money(amount) == f"{sign}Rp {format_rupiah(abs(amount), symbol=False)}"


@given(st.one_of(AMOUNTS, st.sampled_from(EDGES), st.integers(0, 2_000)))
def test_amounts_in_words_are_lokals_terbilang_in_rupiah(amount: int) -> None:
    assert in_words(amount) == f"{terbilang(amount)} rupiah"


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (0, "nol rupiah"),
        (11, "sebelas rupiah"),
        (1_000, "seribu rupiah"),
        (1_001_000, "satu juta seribu rupiah"),
        (200_000_000, "dua ratus juta rupiah"),
        (150_019_110, "seratus lima puluh juta sembilan belas ribu seratus sepuluh rupiah"),
    ],
)
def test_amounts_in_words_read_as_on_a_kuitansi(amount: int, words: str) -> None:
    assert in_words(amount) == words


def test_an_amount_past_the_words_lokal_knows_is_refused_as_lokal_refuses_it() -> None:
    with pytest.raises(ValueError):
        terbilang(10**21)
    with pytest.raises(ValueError, match="too large"):
        in_words(10**21)
