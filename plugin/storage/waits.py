"""A timed wait that still ends when the clock is shifted.

`Event.wait(timeout)` hands the C library a deadline on the monotonic clock; a clock-shifting tool
(libfaketime, used to run the test suite on other dates) moves that clock but the kernel does not,
so such a wait never times out. The background threads of the store (write-behind, retention purge)
sleep in slices instead and look at their event between them.
"""

from __future__ import annotations

import threading
import time


def sleep_unless(event: threading.Event, seconds: float, slice_seconds: float) -> bool:
    """Sleep up to `seconds`, less if `event` is set meanwhile (seen within `slice_seconds`);
    True when it is set."""
    deadline = time.monotonic() + seconds
    while not event.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(left, slice_seconds))
    return True
