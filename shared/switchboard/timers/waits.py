"""How long a timer's Wait state waits. Step Functions' ``SecondsPath`` takes whole seconds, and a due time rarely
falls on one, so each timer says which way to round:

* a snooze rounds to the nearest second: it wakes within half a second of its due time either way, where rounding up
  would make the average snooze half a second late and some a whole second (waking 09:59:59.6 for 10:00 is unseen);
* a deadline rounds up: a task must never be called overdue before its deadline has passed.
"""

from __future__ import annotations

import math
from datetime import datetime

from ..domain import clock


def seconds_until(due: str, now: datetime, *, never_early: bool = False) -> int:
    """Whole seconds from ``now`` to the ISO instant ``due`` (0 if it has passed)."""
    seconds = (clock.parse_iso(due) - now).total_seconds()
    return max(0, math.ceil(seconds) if never_early else round(seconds))
