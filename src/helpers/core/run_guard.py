"""What keeps a run safe: a plain run name (``check_run_name``), a writable ``--outputs`` (``check_outputs``), the
run folder's lock (``run_lock``: a second run with the same name refuses), the temporaries killed writes left behind
(``remove_stale_temporaries``), and every child process stopped on SIGINT / SIGTERM (``install_signal_handlers``,
``terminate_descendants``). ``helpers.core.run`` uses them before and around the kernel."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

from .params import ParamsError

RUN_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class RunBusyError(ParamsError):
    """Another process holds the run folder's lock."""


def check_run_name(name: str) -> str:
    """A run name is one plain folder name: letters, digits, ``.``, ``_``, ``-``; at most 100 characters."""
    if not isinstance(name, str) or not RUN_NAME_RE.fullmatch(name):  # fullmatch: "$" would accept a trailing newline
        shown = name if isinstance(name, str) and len(name) <= 40 else f"{str(name)[:40]}..."
        raise ParamsError(
            f"--run-name {shown!r} is not a plain folder name (letters, digits, '.', '_', '-'; "
            f"starting with a letter or digit; at most 100 characters)"
        )
    return name


def check_outputs(outputs: Path) -> Path:
    """``--outputs`` must be a folder, or a path whose first existing ancestor is a writable folder."""
    probe = Path(outputs).expanduser().absolute()
    while not probe.exists() and not probe.is_symlink() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise ParamsError(f"--outputs {outputs}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ParamsError(f"--outputs {outputs}: folder {probe} is not writable")
    return Path(outputs)


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the run folder: a second run with the same name refuses instead of racing."""
    import fcntl

    try:  # never through a planted symlink: its target would be truncated and overwritten with our pid
        fd = os.open(run_dir / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    except OSError as exc:
        raise ParamsError(
            f"run folder lock {run_dir / '.lock'} cannot be opened ({exc.strerror}): a symlink or a "
            f"special file is there; remove it"
        ) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ParamsError(f"run folder lock {run_dir / '.lock'} is not a regular file; remove it")
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise RunBusyError(
                f"run folder {run_dir} is in use by another run (pid {holder}); wait for it, or pick another --run-name"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def remove_stale_temporaries(run_dir: Path) -> int:
    """Delete what killed atomic writes left behind (``.NAME.XXXX.tmp`` files and folders); returns how many."""
    stale = list(run_dir.rglob(".*.tmp")) + list(run_dir.rglob("*.tmp.png"))
    for p in sorted(stale, key=lambda p: len(p.parts), reverse=True):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    return len(stale)


def terminate_descendants(grace: float = 10.0) -> int:
    """Stop every process this one started (the kernel, vLLM engine workers, servers): TERM, then KILL."""
    import psutil

    procs = psutil.Process().children(recursive=True)
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(alive, timeout=5)
    return len(procs)


def _on_signal(signum, frame) -> None:
    # Stop the children now: once the kernel is gone its engine workers are re-parented and out of reach.
    terminate_descendants()
    raise KeyboardInterrupt(signal.Signals(signum).name)


def install_signal_handlers() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)
