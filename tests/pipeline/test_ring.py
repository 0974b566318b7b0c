import threading
import time

import pytest

from rtswap.pipeline.ring import Ring


def test_latest_wins_drops_the_oldest_and_counts_it() -> None:
    ring: Ring[int] = Ring(2, "latest")
    for i in range(5):
        assert ring.put(i)
    assert ring.dropped == 3
    assert [ring.get(), ring.get()] == [3, 4]  # the newest frames survive, in order
    assert ring.get(timeout_s=0.01) is None


def test_blocking_loses_nothing_with_a_slow_consumer() -> None:
    ring: Ring[int] = Ring(2, "block")
    received: list[int] = []

    def consume() -> None:
        while (item := ring.get()) is not None:
            time.sleep(0.002)
            received.append(item)

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(100):
        ring.put(i)
    ring.close()
    consumer.join()
    assert received == list(range(100))
    assert ring.dropped == 0


def test_blocked_producer_is_released_by_close() -> None:
    ring: Ring[int] = Ring(1, "block")
    ring.put(0)
    results: list[bool] = []
    producer = threading.Thread(target=lambda: results.append(ring.put(1)))
    producer.start()
    time.sleep(0.05)
    assert producer.is_alive()  # waiting for room
    ring.close()
    producer.join(1)
    assert results == [False]
    assert ring.get() == 0 and ring.get() is None  # what was in it drains, then the end


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Ring(0, "latest")
