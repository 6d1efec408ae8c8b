"""Money is integer Rupiah everywhere; parsing goes through ``lokal-id``.

``lokal`` is imported where it is used: importing any part of it costs ~0.11 s (its package
builds its personal-data detectors first), which every `rukun` command would otherwise pay
at start-up. Display does without it, so that `rukun case show` need not pay it either:
grouping thousands is Python's own, and whole Rupiah in words take a few lines that a test
holds against lokal's ``format_rupiah`` and ``terbilang``.
"""

from __future__ import annotations


def parse_money(text: str | int) -> int:
    """Parse ``150000000``, ``150.000.000`` or ``Rp 150.000.000`` into whole Rupiah.

    Raises ``ValueError`` for negative, fractional, approximate or unreadable amounts.
    """
    if isinstance(text, bool):
        raise ValueError("not an amount of money")
    if isinstance(text, int):
        if text < 0:
            raise ValueError("amount of money cannot be negative")
        return text
    cleaned = text.strip()
    if cleaned.startswith("-"):
        raise ValueError("amount of money cannot be negative")
    from lokal import parse_rupiah

    parsed = parse_rupiah(cleaned)
    if parsed is None or parsed.approximate:
        raise ValueError(f"not an amount of money: {text!r} (write e.g. Rp 150.000.000)")
    amount = parsed.amount
    if amount != int(amount):
        raise ValueError(f"amount of money must be whole Rupiah: {text!r}")
    return int(amount)


def format_money(amount: int) -> str:
    """``Rp 150.000.000`` (Indonesian grouping)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {abs(amount):,}".replace(",", ".")


_DIGITS = ("", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan")
#: The name of each power of a thousand, as far as lokal's ``terbilang`` goes.
_THOUSANDS = ("", "ribu", "juta", "miliar", "triliun", "kuadriliun", "kuintiliun")


def in_words(amount: int) -> str:
    """The amount in Indonesian words, as written on letters and receipts:
    ``seratus lima puluh juta rupiah``."""
    if amount < 0:
        return f"minus {in_words(-amount)}"
    if amount == 0:
        return "nol rupiah"
    groups = []  # of three digits, the lowest first
    while amount:
        amount, group = divmod(amount, 1000)
        groups.append(group)
    if len(groups) > len(_THOUSANDS):
        raise ValueError(f"too large to write in words (past {_THOUSANDS[-1]})")
    words: list[str] = []
    for power in reversed(range(len(groups))):
        group = groups[power]
        if power == 1 and group == 1:
            words.append("seribu")
        elif group:
            words += [*_hundreds_in_words(group), _THOUSANDS[power]]
    return " ".join(w for w in words if w) + " rupiah"


def _hundreds_in_words(number: int) -> list[str]:
    """1 to 999 in words: ``seratus``, ``dua ratus sebelas``, ``tujuh puluh lima``."""
    hundreds, rest = divmod(number, 100)
    tens, ones = divmod(rest, 10)
    words = ["seratus" if hundreds == 1 else f"{_DIGITS[hundreds]} ratus"] if hundreds else []
    if tens == 1:
        words.append(
            "sepuluh" if ones == 0 else "sebelas" if ones == 1 else f"{_DIGITS[ones]} belas"
        )
    else:
        words += [f"{_DIGITS[tens]} puluh" if tens else "", _DIGITS[ones]]
    return [w for w in words if w]
