import threading
import time

import pytest

from headpose.inference.pipeline import FramePipeline, Stage


class Counted:
    """A source that records how far it ran ahead of the consumer and whether it was closed."""

    def __init__(self, n: int) -> None:
        self.n, self.produced, self.closed = n, 0, False

    def __iter__(self):
        try:
            for i in range(self.n):
                self.produced += 1
                yield i
        finally:
            self.closed = True


def pipeline_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("pipeline-")]


def test_slow_consumer_gets_every_item_once_in_order_with_bounded_memory():
    source = Counted(120)
    stages = [
        Stage("double", lambda x: 2 * x),
        Stage("batch", lambda xs: [x + 1 for x in xs], batch=7),
        Stage("jitter", lambda x: (time.sleep(0.0005 * (x % 3)), x)[1]),
    ]
    maxsize = 3
    out, ahead = [], []
    with FramePipeline(iter(source), stages, maxsize=maxsize) as results:
        for item in results:
            out.append(item)
            ahead.append(source.produced - len(out))
            time.sleep(0.002)
    assert out == [2 * i + 1 for i in range(120)]
    # Items in flight are bounded by the queues (+1 held by each thread), not by the input length.
    assert max(ahead) <= (len(stages) + 1) * maxsize + len(stages) + 1 + 7
    assert not pipeline_threads()


def test_batch_stage_sees_only_items_already_waiting_and_keeps_their_order():
    seen = []

    def batched(xs):
        seen.append(list(xs))
        return xs

    stages = [Stage("slow", lambda x: (time.sleep(0.001), x)[1]), Stage("b", batched, batch=4)]
    with FramePipeline(range(50), stages, maxsize=8) as results:
        assert list(results) == list(range(50))
    assert all(1 <= len(b) <= 4 for b in seen)
    assert [x for b in seen for x in b] == list(range(50))


def test_an_exception_in_a_stage_reaches_the_consumer_and_every_thread_ends():
    source = Counted(10_000)

    def fail_at_17(x):
        if x == 17:
            raise ValueError("bad frame 17")
        return x

    out = []
    start = time.monotonic()
    with pytest.raises(ValueError, match="bad frame 17"):
        stages = [Stage("a", lambda x: x), Stage("boom", fail_at_17), Stage("c", lambda x: x)]
        with FramePipeline(iter(source), stages, maxsize=2) as results:
            for item in results:
                out.append(item)
                time.sleep(0.001)
    assert time.monotonic() - start < 5
    assert out == list(range(len(out))) and len(out) <= 17  # nothing lost or repeated before the failure
    assert source.closed and source.produced < 100
    assert not pipeline_threads()


def test_an_exception_in_the_source_reaches_the_consumer():
    def frames():
        yield 1
        raise OSError("decoder died")

    with pytest.raises(OSError, match="decoder died"):
        with FramePipeline(frames(), [Stage("a", lambda x: x)]) as results:
            list(results)
    assert not pipeline_threads()


def test_leaving_early_stops_the_source_and_joins_the_threads():
    source = Counted(10_000)
    with pytest.raises(KeyboardInterrupt):
        with FramePipeline(iter(source), [Stage("a", lambda x: x)], maxsize=2) as results:
            for item in results:
                if item == 5:
                    raise KeyboardInterrupt  # what Ctrl-C raises in the consumer
    assert source.closed and source.produced < 50
    assert not pipeline_threads()


def test_a_batch_stage_must_return_one_result_per_item():
    with pytest.raises(RuntimeError, match=r"returned 0 items for \d+"):
        with FramePipeline(range(20), [Stage("bad", lambda xs: [], batch=8)]) as results:
            list(results)
    assert not pipeline_threads()
