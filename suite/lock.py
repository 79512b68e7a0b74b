"""One process at a time trains into an output folder: a lock file, `OUTPUT/.lock`.

Two processes training into one folder would each train every run the other is training (each skips
only the runs already committed when it plans) and both rewrite the report. The first process holds
an exclusive `fcntl.flock` on `OUTPUT/.lock` until it ends and writes its PID and command line into
the file; a second one refuses at once, in one line naming the first (`UsageError`: exit code 2).
Refusing rather than waiting: the second command would redo nothing once the first has finished, so
the user reruns it then, or points it at another `--output`.

The operating system drops a flock when its process ends, however it ends (Ctrl-C, kill -9, out of
memory): a lock file left behind by a dead process blocks nothing and is taken over by the next one.
The PID in the file is only for the message. Reading the folder (`--report-only`, `--plan`) takes no
lock: the database holds every run committed so far, and `holder` says whether someone is still
writing. `fcntl.flock` exists on Linux and macOS; on a network file system the lock holds between
machines only where that file system supports locks.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import time
from pathlib import Path

from suite import UsageError

LOCK_FILE = ".lock"


@contextlib.contextmanager
def hold_output(folder: Path, command: list[str]):
    """Holds the folder's lock for the `with` block; a `UsageError` naming the holder if another process
    holds it. The lock file stays afterwards, emptied: a process that opened it just before it was
    removed would lock a file no longer in the folder, beside a third that locks a new one."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create the output folder {str(folder)!r} ({e.strerror}); pass --output with "
                         f"a folder you can write to") from None
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise UsageError(f"cannot write {str(folder / LOCK_FILE)!r} ({e.strerror}); pass --output with a "
                         f"folder you can write to") from None
    try:
        if not _lock(fd):
            raise UsageError(f"{str(folder)!r} is in use: {_describe(_read(fd))} is training into it; wait "
                             f"for it to finish (then rerun: finished runs are reused) or pass another "
                             f"--output")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n{' '.join(shlex.join(command).splitlines())}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the only descriptor releases the flock


def holder(folder: Path) -> str | None:
    """Who holds the folder's lock ("PID 123 (run_suite.py ...)"), or None when nobody does. Takes no
    lock that lasts: a shared flock tried and let go at once."""
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDONLY)
    except OSError:  # no lock file: nobody ever trained here
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _describe(_read(fd))
    else:
        return None
    finally:
        os.close(fd)


def _lock(fd: int, patience: float = 1.0) -> bool:
    """Takes the exclusive flock; False if another process keeps it for `patience` seconds (a reader's
    `holder` holds a shared one for an instant, which must not read as a second trainer)."""
    deadline = time.monotonic() + patience
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


def _read(fd: int) -> str:
    return os.pread(fd, 4096, 0).decode(errors="replace")


def _describe(content: str) -> str:
    """The holder in words, from the lock file's content (empty for the instant between its lock and
    its write)."""
    pid, _, command = content.partition("\n")
    command = command.strip()
    return f"PID {pid.strip()}" + (f" ({command})" if command else "") if pid.strip() else "another process"
