"""An asyncio event loop on a background thread, for running the emulator from synchronous code."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar

T = TypeVar("T")


class LoopThread:
    """Owns one event loop running on one daemon thread; runs coroutines and calls on it and waits."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._loop

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        ready.wait()

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
        self._loop = self._thread = None

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the loop and wait for its result (its exception is raised here)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def call(self, function: Callable[..., T], *args: Any) -> T:
        """Call ``function(*args)`` on the loop's thread, so it never races the server, and return its result."""
        loop = self.loop
        if threading.current_thread() is self._thread:
            return function(*args)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def invoke() -> None:
            try:
                future.set_result(function(*args))
            except BaseException as exc:  # handed to the waiting thread, which raises it
                future.set_exception(exc)

        loop.call_soon_threadsafe(invoke)
        return future.result()


class Served(Protocol):
    async def stop(self) -> None: ...


S = TypeVar("S", bound=Served)


class OnThread(Generic[S]):
    """Something served from an event loop (an emulator, a webhook receiver), started on a thread of its own
    so that synchronous code can use it; a ``with`` block, or ``start()`` and ``stop()``."""

    def __init__(self, name: str, make: Callable[[], Coroutine[Any, Any, S]]) -> None:
        self._loop_thread = LoopThread(name)
        self._make = make
        self._served: S | None = None

    @property
    def served(self) -> S:
        if self._served is None:
            raise RuntimeError(f"{self._loop_thread.name} is not running")
        return self._served

    def start(self) -> Self:
        self._loop_thread.start()
        try:
            self._served = self._loop_thread.run(self._make())
        except BaseException:
            self._loop_thread.stop()
            raise
        return self

    def stop(self) -> None:
        served, self._served = self._served, None
        try:
            if served is not None:
                self._loop_thread.run(served.stop())
        finally:
            self._loop_thread.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _call(self, function: Callable[..., T], *args: Any) -> T:
        return self._loop_thread.call(function, *args)

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self._loop_thread.run(coroutine)
