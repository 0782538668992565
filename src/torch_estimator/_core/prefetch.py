"""Items prepared ahead by a background thread (tf.data's ``prefetch``).

The thread stops when the consumer stops iterating (the generator closed or collected) and at
interpreter exit; an error raised in it is raised in the consumer.
"""

from __future__ import annotations

import atexit
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any, TypeVar

__all__ = ["prefetched"]

T = TypeVar("T")

_ITEM, _END, _ERROR = range(3)
_RUNNING: dict[threading.Thread, tuple[threading.Event, queue.Queue[Any]]] = {}


def _produce(make: Callable[[], Generator[Any, None, None]], out: queue.Queue[Any], stop: threading.Event) -> None:
    def put(message: tuple[int, Any]) -> bool:
        while not stop.is_set():
            try:
                out.put(message, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    try:
        items = make()
        try:
            for item in items:
                if not put((_ITEM, item)):
                    return
        finally:
            items.close()
        put((_END, None))
    except BaseException as error:  # handed to the consumer, which raises it
        put((_ERROR, error))
    finally:
        _RUNNING.pop(threading.current_thread(), None)


def prefetched(make: Callable[[], Generator[T, None, None]], size: int) -> Iterator[T]:
    """The items of ``make()``, prepared by a background thread up to ``size`` ahead."""
    out: queue.Queue[Any] = queue.Queue(maxsize=size)
    stop = threading.Event()
    thread = threading.Thread(
        target=_produce, args=(make, out, stop), name="torch_estimator-input-prefetch", daemon=True
    )
    _RUNNING[thread] = (stop, out)
    thread.start()
    try:
        while True:
            try:
                kind, item = out.get(timeout=1.0)
            except queue.Empty:
                if thread.is_alive() or not out.empty():
                    continue
                raise RuntimeError("the input prefetch thread stopped without finishing its input") from None
            if kind == _ITEM:
                yield item
            elif kind == _END:
                return
            else:
                raise item
    finally:
        stop.set()
        _join(thread, timeout=10.0)


def _join(thread: threading.Thread, timeout: float) -> None:
    """Waits for a stopped producer to finish, emptying its queue so that it lets go sooner."""
    entry = _RUNNING.get(thread)
    if entry is None or thread is threading.current_thread():  # collected in its own thread: it stops itself
        return
    out = entry[1]
    deadline = time.monotonic() + timeout
    while thread.is_alive() and time.monotonic() < deadline:
        try:
            while True:
                out.get_nowait()
        except queue.Empty:
            pass
        thread.join(0.05)


@atexit.register
def _stop_all() -> None:
    for stop, _ in list(_RUNNING.values()):
        stop.set()
    for thread in list(_RUNNING):
        _join(thread, timeout=1.0)
