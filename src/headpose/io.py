"""Atomic writes: every artifact appears whole or not at all."""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from headpose.errors import HeadposeError

STDOUT = "-"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def resolve_output(target: str | os.PathLike, directory: bool = False) -> Path:
    """The path to replace: a symlink is written through to what it points at; special files and a
    file where a folder is wanted (or the reverse) are refused, naming the path."""
    target = Path(target)
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    if not target.exists():
        return target
    mode = target.stat().st_mode
    if directory and not stat.S_ISDIR(mode):
        raise HeadposeError(f"{target}: exists and is not a folder; give a folder path")
    if not directory and stat.S_ISDIR(mode):
        raise HeadposeError(f"{target}: is a folder; give a file path")
    if not directory and not stat.S_ISREG(mode):
        raise HeadposeError(
            f"{target}: is not a regular file (device, pipe or socket); refusing to replace it"
            f" (use {STDOUT!r} for standard output)"
        )
    return target


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (someone else's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(target: Path) -> None:
    """Delete temporaries of ``target`` left by processes that died mid-write (``.NAME.PID.*``)."""
    for tmp in target.parent.glob(f".{target.name}.*.*"):
        pid = tmp.name[len(target.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)


@contextmanager
def atomic_path(target: str | os.PathLike, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of ``target``; rename it onto ``target`` only on success.

    With ``directory=True`` the temporary path is a fresh directory and replaces ``target`` whole.
    A symlinked target is replaced where the link points. Temporaries of writers that were killed
    (their pid is in the name) are removed by the next write. Permissions follow the umask.
    """
    target = resolve_output(target, directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(target)
    prefix = f".{target.name}.{os.getpid()}."
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp's 0700 would hide a shared artifact's folder
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, dir=target.parent)
        os.close(fd)
        tmp = Path(name)
        os.chmod(tmp, 0o666 & ~_umask())  # and mkstemp's 0600 its files
    try:
        yield tmp
        if directory:
            if target.exists():
                old = target.with_name(f".{target.name}.{os.getpid()}.old")
                shutil.rmtree(old, ignore_errors=True)
                target.rename(old)
                tmp.rename(target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                tmp.rename(target)
        else:
            os.replace(tmp, target)
    except BaseException:
        if directory:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_text(target: str | os.PathLike) -> Iterator[TextIO]:
    """A text stream that lands on ``target`` whole (see :func:`atomic_path`); ``-`` is stdout."""
    if str(target) == STDOUT:
        yield sys.stdout
        sys.stdout.flush()
        return
    with atomic_path(target) as tmp, tmp.open("w") as stream:
        yield stream
