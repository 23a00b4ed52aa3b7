"""A producer-consumer pipeline of threads joined by bounded queues, with ordered output.

``source`` is iterated in its own thread (decoding), each :class:`Stage` runs in its own thread, and
the caller consumes the results in source order::

    with FramePipeline(frames, [Stage("detect", detect), Stage("infer", infer, batch=8)]) as results:
        for item in results:
            write(item)

Stages overlap (numpy, OpenCV, dlib, ONNX Runtime and torch release the GIL in their heavy work);
every queue holds at most ``maxsize`` items, so memory does not grow with the length of the input.
Order is kept because every stage is one thread reading one FIFO queue. A stage with ``batch >= 1``
receives a list of up to ``batch`` items that are already waiting (it never waits to fill a batch)
and returns a list of the same length; with ``batch=0`` (default) it receives one item at a time.

Shutdown: the end of the source travels down as a sentinel. An exception in the source or a stage
sets a stop flag that every blocked ``put``/``get`` polls, so all threads end, and the exception is
raised in the consumer. Leaving the ``with`` block early (break, Ctrl-C, an error in the consumer)
stops and joins the threads too.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

_END = object()  # the source is exhausted
_STOP = object()  # returned by _get when the pipeline is stopping


@dataclass
class Stage:
    name: str
    fn: Callable[[Any], Any]
    batch: int = 0  # 0: fn(item) -> item; n >= 1: fn([up to n items]) -> [as many items]


@dataclass
class StageStats:
    items: int = 0
    busy_s: float = 0.0  # time inside the stage's function (for the source: producing items)


class FramePipeline:
    """Threads that run ``stages`` over ``source``; entering yields the results in source order."""

    def __init__(
        self,
        source: Iterable[Any],
        stages: Sequence[Stage],
        maxsize: int = 8,
        poll_s: float = 0.05,
        join_timeout_s: float = 10.0,
    ) -> None:
        if maxsize < 1:
            raise ValueError(f"FramePipeline maxsize must be >= 1, got {maxsize}")
        for stage in stages:
            if stage.batch < 0:
                raise ValueError(f"stage {stage.name!r}: batch must be >= 0, got {stage.batch}")
        self.source, self.stages = source, list(stages)
        self.poll_s, self.join_timeout_s = poll_s, join_timeout_s
        self.queues = [queue.Queue(maxsize) for _ in range(len(self.stages) + 1)]
        self.stats = {"source": StageStats(), **{s.name: StageStats() for s in self.stages}}
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Iterator[Any]:
        self._threads = [threading.Thread(target=self._produce, name="pipeline-source", daemon=True)]
        self._threads += [
            threading.Thread(target=self._work, args=(k,), name=f"pipeline-{s.name}", daemon=True)
            for k, s in enumerate(self.stages)
        ]
        for thread in self._threads:
            thread.start()
        return self._results()

    def __exit__(self, exc_type, exc, tb) -> None:
        self._stop.set()
        deadline = time.monotonic() + self.join_timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if exc is None and self._error is not None:
            raise self._error

    def _results(self) -> Iterator[Any]:
        while True:
            item = self._get(self.queues[-1])
            if item is _END:
                return
            if item is _STOP:
                if self._error is not None:
                    raise self._error
                return
            yield item

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            if self._error is None:
                self._error = exc
        self._stop.set()

    def _put(self, q: queue.Queue, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                q.put(item, timeout=self.poll_s)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, q: queue.Queue) -> Any:
        while not self._stop.is_set():
            try:
                return q.get(timeout=self.poll_s)
            except queue.Empty:
                continue
        return _STOP

    def _produce(self) -> None:
        stats, out = self.stats["source"], self.queues[0]
        try:
            iterator = iter(self.source)
            while not self._stop.is_set():
                start = time.perf_counter()
                try:
                    item = next(iterator)
                except StopIteration:
                    break
                finally:
                    stats.busy_s += time.perf_counter() - start
                stats.items += 1
                if not self._put(out, item):
                    return
            self._put(out, _END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._fail(exc)
        finally:
            close = getattr(self.source, "close", None)
            if callable(close):  # release a generator's resources (e.g. a VideoCapture) in this thread
                try:
                    close()
                except Exception as exc:  # noqa: BLE001
                    self._fail(exc)

    def _work(self, k: int) -> None:
        stage, inbox, outbox = self.stages[k], self.queues[k], self.queues[k + 1]
        stats = self.stats[stage.name]
        try:
            while True:
                item = self._get(inbox)
                if item is _STOP:
                    return
                if item is _END:
                    self._put(outbox, _END)
                    return
                items, ended = [item], False
                while len(items) < stage.batch:  # take what is already waiting, never wait for more
                    try:
                        extra = inbox.get_nowait()
                    except queue.Empty:
                        break
                    if extra is _END:
                        ended = True
                        break
                    items.append(extra)
                start = time.perf_counter()
                if stage.batch:
                    results = stage.fn(items)
                    if len(results) != len(items):
                        raise RuntimeError(
                            f"stage {stage.name!r} returned {len(results)} items for {len(items)}"
                        )
                else:
                    results = [stage.fn(item)]
                stats.busy_s += time.perf_counter() - start
                stats.items += len(items)
                for result in results:
                    if not self._put(outbox, result):
                        return
                if ended:
                    self._put(outbox, _END)
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._fail(exc)
