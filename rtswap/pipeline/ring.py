"""A bounded buffer between two stage threads, with the policy that fits the input.

``latest`` (live input): a full buffer drops its oldest item to make room and counts the drop, so
a slow consumer always gets the newest frame and latency cannot build up. ``block`` (files): a
full buffer makes the producer wait, so nothing is lost.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, Literal, TypeVar

T = TypeVar("T")
Policy = Literal["latest", "block"]


class Ring(Generic[T]):
    def __init__(self, capacity: int, policy: Policy) -> None:
        if capacity < 1:
            raise ValueError(f"ring capacity must be at least 1, got {capacity}")
        self.capacity, self.policy = capacity, policy
        self.dropped = 0
        """Items the ``latest`` policy threw away unread."""
        self._items: deque[T] = deque()
        self._closed = False
        self._changed = threading.Condition()

    def put(self, item: T) -> bool:
        """Add ``item``; False (item discarded) if the ring is closed."""
        with self._changed:
            if self.policy == "block":
                self._changed.wait_for(lambda: self._closed or len(self._items) < self.capacity)
            if self._closed:
                return False
            if len(self._items) == self.capacity:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._changed.notify_all()
            return True

    def get(self, timeout_s: float | None = None) -> T | None:
        """The oldest item, waiting for one; None once the ring is closed and empty, or on timeout."""
        with self._changed:
            self._changed.wait_for(lambda: self._closed or self._items, timeout_s)
            if not self._items:
                return None
            item = self._items.popleft()
            self._changed.notify_all()
            return item

    def close(self) -> None:
        """No more items: the consumer drains what is left, then gets None; producers stop waiting."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def clear(self) -> None:
        with self._changed:
            self._items.clear()
            self._changed.notify_all()

    def __len__(self) -> int:
        with self._changed:
            return len(self._items)
