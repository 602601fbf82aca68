"""The rating a customer gives with a CSAT button: ``csat:<rating>:<what was rated>`` in the button's data."""

from __future__ import annotations

import re

_CSAT = re.compile(r"csat:([1-5]):(.{1,128})")


def parse_csat(data: str) -> tuple[int, str] | None:
    """(rating, subject) of a CSAT button's data, or None for any other button."""
    match = _CSAT.fullmatch(data or "")
    return (int(match.group(1)), match.group(2)) if match else None
