"""Reading a local file safely: one implementation for data files and params files alike.

A path that is a folder, a FIFO or a device is refused after a ``stat`` (never opened, so never a hang or an
endless read); a file over ``max_bytes`` is refused before it is read; a read slower than ``seconds`` stops.
The caller names the file (``what``) and the exception type its own callers expect (``error``).
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a FIFO" if stat.S_ISFIFO(mode) else "a device or special file"


def check_regular(
    path: str | Path, max_bytes: int, *, what: str = "file", error: type[Exception] = ValueError, limit_hint: str = ""
) -> Path:
    """``path`` if it is a regular file of at most ``max_bytes``; ``error`` naming the file otherwise."""
    path = Path(path).expanduser()
    try:
        st = os.stat(path)
    except OSError as exc:
        raise error(
            f"{what} {path} not found" if isinstance(exc, FileNotFoundError) else f"{what} {path}: {exc.strerror}"
        ) from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{what} {path} is {_kind(st.st_mode)}, not a regular file")
    if st.st_size > max_bytes:
        raise error(f"{what} {path} is {st.st_size} bytes, more than the {max_bytes} read{limit_hint}")
    return path


def read_bounded(
    path: str | Path,
    max_bytes: int,
    *,
    seconds: float = 120.0,
    what: str = "file",
    error: type[Exception] = ValueError,
    limit_hint: str = "",
    time_hint: str = "",
) -> bytes:
    """The bytes of a regular file, at most ``max_bytes``, read within ``seconds`` (``check_regular`` first)."""
    path = check_regular(path, max_bytes, what=what, error=error, limit_hint=limit_hint)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise error(f"{what} {path} is not readable ({exc.strerror})") from None
    chunks, size, deadline = [], 0, time.monotonic() + seconds
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # swapped between the stat and the open
            raise error(f"{what} {path} is not a regular file")
        while chunk := f.read(1 << 22):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise error(f"{what} {path} grew past the {max_bytes} bytes read{limit_hint}")
            if time.monotonic() > deadline:
                raise error(f"{what} {path}: reading took more than {seconds:.0f} s{time_hint}")
    return b"".join(chunks)
