"""What control clients hand the runtime: files they name, portraits to prepare, memory they leave behind.

A socket client must never make the runtime open whatever it names: a path is read only when it resolves
inside a folder the operator allowed (`run --allow-dir DIR`), is a regular file (not a FIFO that blocks
forever, not /dev/zero that never ends) and is at most MAX_CLIENT_FILE_BYTES. Preparing a portrait takes
seconds, so it runs on one worker thread with a short bounded queue, never on the control thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import queue
import stat
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Callable

from facecast.runtime.engine.config import MAX_CLIENT_FILE_BYTES, PREPARE_QUEUE


class FileRefused(ValueError):
    """A client-named file the runtime will not read; the message says why and what to do instead."""


class Busy(RuntimeError):
    """The preparation queue is full; the client should retry in a few seconds."""


def read_client_file(path: str, allow_dirs: tuple[Path, ...], max_bytes: int = MAX_CLIENT_FILE_BYTES) -> bytes:
    """The bytes of `path` (named by a control client) when the operator allows it; at most max_bytes.

    Raises FileRefused (outside the allowed folders, not a regular file, too large) or FileNotFoundError.
    Opened with O_NONBLOCK and checked with fstat before a byte is read, so a FIFO or a device
    cannot block or flood the reader; the size is checked on the open file, not on the name.
    """
    if not allow_dirs:
        raise FileRefused(f"{path!r}: this runtime reads no files named by clients; send the file's bytes as "
                          f"the payload, or start it with --allow-dir DIR to allow files in DIR")
    real = Path(os.path.realpath(path))
    roots = [Path(os.path.realpath(d)) for d in allow_dirs]
    if not any(real == root or root in real.parents for root in roots):
        raise FileRefused(f"{path!r} is outside the folders this runtime allows "
                          f"({', '.join(map(str, roots))}); copy it there or send its bytes as the payload")
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise FileNotFoundError(f"no file {path!r}") from None
    except OSError as exc:
        raise FileRefused(f"cannot open {path!r}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileRefused(f"{path!r} is not a regular file; name an image or .fca file")
        if st.st_size > max_bytes:
            raise FileRefused(f"{path!r} is {st.st_size} bytes, over the {max_bytes} byte limit; "
                              f"use a smaller image")
        chunks, total = [], 0
        while total <= max_bytes:  # the file may grow after fstat: never read past the limit
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise FileRefused(f"{path!r} grew past the {max_bytes} byte limit while being read")
        return b"".join(chunks)
    finally:
        os.close(fd)


class Preparer:
    """One thread that prepares portraits for the control socket; at most `queue_len` jobs wait.

    submit(fn) -> Future with fn's result or exception. Raises Busy when the queue is full, so a client
    flooding create_session gets refusals instead of an unbounded backlog.
    """

    def __init__(self, queue_len: int = PREPARE_QUEUE):
        self._jobs: queue.Queue = queue.Queue(maxsize=queue_len)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, fn: Callable[[], object]) -> Future:
        future: Future = Future()
        try:
            self._jobs.put_nowait((fn, future))
        except queue.Full:
            raise Busy(f"{self._jobs.maxsize} portraits are already waiting to be prepared; "
                       f"try again in a few seconds") from None
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="facecast-prepare", daemon=True)
                self._thread.start()
        return future

    def _loop(self) -> None:
        while True:
            fn, future = self._jobs.get()
            if fn is None:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the waiting reply, which turns it into an error
                future.set_exception(exc)
            finally:
                release_memory()  # preparing holds hundreds of MB of temporaries; give them back

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            while True:  # drop waiting jobs so the stop marker fits
                try:
                    _, future = self._jobs.get_nowait()
                    future.cancel()
                except queue.Empty:
                    break
            self._jobs.put((None, None))
            thread.join(timeout=5)


_libc = None


def release_memory() -> None:
    """Hand freed heap back to the system (glibc keeps freed arenas otherwise; a no-op elsewhere)."""
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        try:
            _libc = ctypes.CDLL(name) if name else False
        except OSError:
            _libc = False
    trim = getattr(_libc, "malloc_trim", None) if _libc else None
    if trim is not None:
        trim(0)
