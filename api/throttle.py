"""Rate limits and failed-key throttling, in this process's memory.

:class:`TokenBuckets` gives each client address, and each API key, a bucket of ``burst`` requests
refilled at ``rate`` per second (the ``rate_limit_per_s`` and ``rate_limit_burst`` settings);
:class:`FailureThrottle` makes a client address that sent more than ``allowed`` wrong API keys
wait 1, 2, 4 ... seconds (up to ``max_wait_s``) before its next key is checked, so guessing keys,
and the key hashing it costs, stays slow. Both answer with the seconds to wait, which the API
sends as ``Retry-After`` with a 429 (:class:`TooManyRequestsError`).

The state is per process and bounded (the least recently seen names are forgotten first): with
several worker processes each counts on its own; behind a reverse proxy the client address is the
proxy's unless the server trusts its forwarded headers (the ``trusted_proxies`` setting).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

from geo.errors import FireReachError

#: How many names (addresses, key fingerprints) each table remembers at most.
MAX_NAMES = 100_000


class TooManyRequestsError(FireReachError, RuntimeError):
    """Too many requests, or too many wrong API keys, from one client (HTTP 429).

    ``retry_after_s`` is how long the client should wait (sent as ``Retry-After``).
    """

    def __init__(self, message: str, *, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    @property
    def retry_after(self) -> int:
        """Whole seconds to wait, at least 1 (the ``Retry-After`` header's value)."""
        return max(1, math.ceil(self.retry_after_s))


class TokenBuckets:
    """One token bucket per name: ``burst`` requests at once, refilled at ``rate`` per second.

    Parameters
    ----------
    rate
        Tokens added per second (> 0).
    burst
        Bucket size: requests allowed at once after a quiet spell.
    max_names
        Names remembered; the least recently used are forgotten (as if their bucket were full).
    """

    def __init__(self, rate: float, burst: int, *, max_names: int = MAX_NAMES) -> None:
        if not rate > 0 or burst < 1:
            raise ValueError(f"a token bucket needs rate > 0 and burst >= 1; got {rate}, {burst}")
        self.rate = float(rate)
        self.burst = float(burst)
        self._max = max_names
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, name: str, *, now: float | None = None) -> float:
        """Take one token for ``name``: 0.0 when there was one, else the seconds until there is."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(name, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[name] = (tokens, now)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        return wait


class FailureThrottle:
    """Exponential back-off per client address after wrong API keys.

    After ``allowed`` failures, the ``n``-th further failure makes the address wait
    ``min(2 ** (n - 1), max_wait_s)`` seconds from that failure; an address with no failure for
    ``max_wait_s`` starts afresh. A valid key does not reset the count.
    """

    def __init__(self, *, allowed: int, max_wait_s: float, max_names: int = MAX_NAMES) -> None:
        self.allowed = allowed
        self.max_wait_s = max_wait_s
        self._max = max_names
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _current(self, name: str, now: float) -> tuple[int, float]:
        count, last = self._failures.get(name, (0, now))
        if count and now - last > self.max_wait_s:
            self._failures.pop(name, None)
            return 0, now
        return count, last

    def wait(self, name: str, *, now: float | None = None) -> float:
        """Seconds ``name`` must still wait before its next key is checked (0.0: go ahead)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            count, last = self._current(name, now)
        over = count - self.allowed
        if over < 1:
            return 0.0
        return max(0.0, last + min(2.0 ** (over - 1), self.max_wait_s) - now)

    def failed(self, name: str, *, now: float | None = None) -> None:
        """Count one wrong key from ``name``."""
        now = time.monotonic() if now is None else now
        with self._lock:
            count, _ = self._current(name, now)
            self._failures.pop(name, None)
            self._failures[name] = (count + 1, now)
            while len(self._failures) > self._max:
                self._failures.popitem(last=False)
