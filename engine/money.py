"""Money is integer Rupiah everywhere; parsing and display go through ``lokal-id``.

``lokal`` is imported where it is used: importing it costs ~0.17 s (it builds its personal-data
detectors), which every `rukun` command would otherwise pay at start-up.
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
    from lokal import format_rupiah

    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {format_rupiah(abs(amount), symbol=False)}"


def in_words(amount: int) -> str:
    """The amount in Indonesian words, as written on letters and receipts:
    ``seratus lima puluh juta rupiah``."""
    from lokal import terbilang

    return f"{terbilang(amount)} rupiah"
