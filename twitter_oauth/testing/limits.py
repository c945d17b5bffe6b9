"""Rate-limit windows and the nonce memory: the two things the emulator counts over time.

Neither holds a lock of its own; the emulator calls them under its lock.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Window:
    """A fixed window, as X's limits are: it starts at the first call and resets all at once."""

    limit: int
    length: int
    started: float
    used: int = 0

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def reset(self) -> int:
        """When the window ends, in epoch seconds (X's ``*-reset`` headers)."""
        return int(self.started + self.length)

    def headers(self, prefix: str) -> dict[str, str]:
        """X's headers for this window, e.g. ``x-rate-limit-limit``, ``-remaining``, ``-reset``."""
        return {
            f"{prefix}-limit": str(self.limit),
            f"{prefix}-remaining": str(self.remaining),
            f"{prefix}-reset": str(self.reset),
        }


class Windows:
    """One window per (user, endpoint); a window that has ended is replaced by a fresh one."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], Window] = {}

    def current(self, user_id: str, endpoint: str, limit: int, length: int, now: float) -> Window:
        window = self._windows.get((user_id, endpoint))
        if window is None or now >= window.started + window.length:
            window = self._windows[(user_id, endpoint)] = Window(limit, length, started=now)
        return window

    def clear(self) -> None:
        self._windows.clear()


class NonceMemory:
    """Nonces seen per (consumer, timestamp), kept only while the timestamp could be accepted.

    A request whose timestamp is outside the tolerance is refused on its timestamp alone,
    so nonces older than that can be forgotten without letting a replay through.
    """

    #: Forget old timestamps at most once per this many seconds of the emulator's clock.
    PRUNE_EVERY = 1.0

    def __init__(self) -> None:
        self._seen: dict[int, set[tuple[str, str]]] = {}
        self._pruned_at = float("-inf")

    def first_use(
        self, consumer_key: str, timestamp: int, nonce: str, now: float, tolerance: int
    ) -> bool:
        """Remember the nonce; False if it was already used with this consumer and timestamp."""
        if now - self._pruned_at >= self.PRUNE_EVERY:
            self._prune(now - tolerance)
            self._pruned_at = now
        seen = self._seen.setdefault(timestamp, set())
        if (consumer_key, nonce) in seen:
            return False
        seen.add((consumer_key, nonce))
        return True

    def _prune(self, oldest: float) -> None:
        for timestamp in [t for t in self._seen if t < oldest]:
            del self._seen[timestamp]

    def __len__(self) -> int:
        return sum(len(seen) for seen in self._seen.values())

    def clear(self) -> None:
        self._seen.clear()
        self._pruned_at = float("-inf")
