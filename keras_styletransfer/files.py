"""Writing files without losing what is already there: the one rule for output paths, atomic
writes, one-line messages for full or read-only disks, and the lock of a run folder.

Every command checks its outputs with `check_output_file` / `check_output_folder` before it
starts work (no TensorFlow needed), and writes through `write_atomically` (a temporary file beside
the destination, renamed over it), so a full disk leaves the previous file whole and no temporary
file behind. A run folder is held with `run_lock` while a run uses it (an OS lock, released when
the process dies, however it dies).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import socket
import sys
import tempfile
import time

from keras_styletransfer.errors import InputError

# What a write failure of each kind means for the user.
_DISK_ERRORS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large for the file system",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EISDIR: "it is a folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
}
DISK_ERRNOS = frozenset(_DISK_ERRORS)

# Files and folders that mark a folder as holding a run or a model.
RUN_MARKERS = ("config.json", "final.keras", "generator.keras", "checkpoints", "backup", "exported")


def disk_reason(error):
    """Why a write failed, in the package's one wording for each kind of disk failure."""
    reason = _DISK_ERRORS.get(getattr(error, "errno", None))
    if reason:
        return reason
    text = getattr(error, "strerror", None) or str(error)
    return text.splitlines()[0] if text else type(error).__name__


def disk_error(error, path, what="write"):
    """An `InputError` saying in one line why `what` to `path` failed and what to do."""
    reason = disk_reason(error)
    return InputError(
        f"could not {what} {path!r} ({reason}); free some space or choose another location "
        "(files already written there are intact)."
    )


def replace_atomically(write, temporary, destination, describe_failure):
    """`write(temporary)`, then rename it over `destination`: the destination is either the old
    file or the whole new one, never half-written. On an OSError the temporary file is removed
    and an OSError with `describe_failure(error)` is raised."""
    try:
        write(temporary)
        os.replace(temporary, destination)
    except OSError as error:
        _remove_quietly(temporary)
        raise OSError(error.errno, describe_failure(error)) from error
    except BaseException:
        _remove_quietly(temporary)
        raise


def _remove_quietly(path):
    with contextlib.suppress(OSError):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.remove(path)


def temporary_path(destination):
    """A hidden name beside `destination` for its new version (same folder, same suffix)."""
    folder, name = os.path.split(os.path.abspath(destination))
    return os.path.join(folder, f".tmp-{os.getpid()}-{name}")


def write_atomically(destination, write):
    """Write `destination` through `write(path)` on a temporary file renamed over it.

    Folders are created. A full disk, a read-only or forbidden location raise an `InputError`
    (one line); the previous file stays whole and the temporary file is removed.

    Returns:
        The destination path.
    """
    destination = os.fspath(destination)
    try:
        os.makedirs(os.path.dirname(os.path.abspath(destination)), exist_ok=True)
    except OSError as error:
        raise disk_error(error, destination) from None

    def synced(path):
        write(path)
        if os.path.isfile(path):
            with open(path, "rb+") as file:
                os.fsync(file.fileno())

    try:
        replace_atomically(synced, temporary_path(destination), destination, str)
    except OSError as error:
        raise disk_error(error, destination) from None
    return destination


def write_text(destination, text):
    """`text` to `destination`, atomically (see `write_atomically`)."""

    def write(path):
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)

    return write_atomically(destination, write)


def write_json(destination, value):
    """`value` as indented JSON to `destination`, atomically (see `write_atomically`)."""
    return write_text(destination, json.dumps(value, indent=2) + "\n")


# --- checks before work -------------------------------------------------------------------------


def _existing_ancestor(path):
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def check_writable(path, option="--out"):
    """Refuse a location that cannot be written: under a file, read-only, forbidden or full.

    `path` (a file or folder to write) need not exist; its nearest existing folder is probed by
    creating and removing a small file there.
    """
    path = os.fspath(path)
    # An existing file is replaced in its folder.
    folder = _existing_ancestor(
        os.path.dirname(os.path.abspath(path)) if os.path.isfile(path) else path
    )
    if not os.path.isdir(folder):
        raise InputError(
            f"{option} {path!r} cannot be created: {folder!r} is a file, not a folder."
        )
    try:
        handle, probe = tempfile.mkstemp(prefix=".write-probe-", dir=folder)
        try:
            os.write(handle, b"\0" * 4096)
            os.fsync(handle)
        finally:
            os.close(handle)
            os.remove(probe)
    except OSError as error:
        raise disk_error(error, path) from None
    return folder


def check_free_space(path, needed, option="--out"):
    """Refuse when the disk of `path` has less than `needed` bytes free."""
    folder = _existing_ancestor(path)
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # unknown: the writes themselves will say
    if free < needed:
        raise InputError(
            f"{option} {path!r}: the disk has {free / 1e6:.1f} MB free but about "
            f"{needed / 1e6:.1f} MB is needed; free some space or choose another location."
        )


def _same(path, other):
    try:
        return os.path.samefile(path, other)
    except OSError:
        return os.path.abspath(path) == os.path.abspath(other)


def is_inside(path, folder):
    """Whether `path` is `folder` or lies under it (links resolved)."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_output_file(path, *, inputs=(), overwrite=False, option="--out"):
    """Check a file a command will write, before the work: not one of its `inputs` (even with
    `overwrite`), not a folder, not an existing file unless `overwrite`, and writable.

    Returns:
        The path.
    """
    path = os.fspath(path)
    for source in inputs:
        if source is not None and os.path.exists(path) and _same(path, source):
            raise InputError(
                f"{option} {path!r} is one of this command's inputs; write to another file."
            )
    if os.path.isdir(path):
        raise InputError(f"{option} {path!r} is a folder; name a file to write.")
    if os.path.lexists(path) and not overwrite:
        raise InputError(
            f"{option} {path!r} already exists; choose another name, or pass --overwrite to "
            "replace it."
        )
    check_writable(path, option)
    return path


def check_output_folder(path, *, inputs=(), writes=(), overwrite=False, option="--out"):
    """Check a folder a command will write into, before the work.

    Refused: an existing file; a folder inside which one of the `inputs` would be replaced (one
    of `writes`, the names the command will write, is an input; even with `overwrite`); without
    `overwrite`, a folder holding a run or a model (see `RUN_MARKERS`, or any `.keras` file) or
    one of the `writes` already; a location that cannot be written.

    Returns:
        The path.
    """
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise InputError(f"{option} {path!r} is a file; name a folder to write into.")
    targets = [os.path.join(path, name) for name in writes]
    for source in inputs:
        if source is None:
            continue
        for target in targets:
            if os.path.exists(target) and _same(target, source):
                raise InputError(
                    f"{option} {path!r} would replace the input {source!r}; write into "
                    "another folder."
                )
    if os.path.isdir(path) and not overwrite:
        names = os.listdir(path)
        held = [n for n in names if n in RUN_MARKERS or n.endswith(".keras")]
        held += [n for n in writes if n in names and n not in held]
        if held:
            raise InputError(
                f"{option} {path!r} already holds {', '.join(sorted(held)[:3])}; choose "
                "another folder, or pass --overwrite to replace what is there."
            )
    check_writable(path, option)
    return path


# --- the lock of a run folder -------------------------------------------------------------------

LOCK_NAME = ".lock"
_held = {}  # real path of a run folder -> [file, depth]: this process's locks


def _holder_text(folder):
    try:
        with open(os.path.join(folder, LOCK_NAME)) as file:
            holder = json.load(file)
        return (
            f"pid {holder['pid']} on {holder['host']}, `{holder['command']}`, started "
            f"{holder['started']}"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextlib.contextmanager
def run_lock(run_dir, option="--run-dir"):
    """Hold `run_dir` for this process while the block runs; refuse at once if another holds it.

    The lock is an `fcntl.flock` on `run_dir/.lock`, which the OS releases when the process
    ends, even by SIGKILL, so an interrupted run never leaves a stale lock. The file names the
    holder (pid, host, command, start time) for the message a second run gets. Nested use in one
    process is allowed.
    """
    import fcntl

    run_dir = os.fspath(run_dir)
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise InputError(f"{option} {run_dir!r} is a file; name a folder for the run.")
    try:
        os.makedirs(run_dir, exist_ok=True)
    except OSError as error:
        raise disk_error(error, run_dir, "create") from None
    key = os.path.realpath(run_dir)
    if key in _held:
        _held[key][1] += 1
        try:
            yield
        finally:
            _held[key][1] -= 1
        return
    try:
        file = open(os.path.join(run_dir, LOCK_NAME), "a+")  # noqa: SIM115 (held while running)
    except OSError as error:
        raise disk_error(error, run_dir) from None
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        file.close()
        raise InputError(
            f"{option} {run_dir!r} is in use by another run ({_holder_text(run_dir)}); wait for "
            "it to finish, stop it, or choose another folder."
        ) from None
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": " ".join([os.path.basename(sys.argv[0] or "python"), *sys.argv[1:]])[:200],
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    with contextlib.suppress(OSError):  # the lock holds even if its description cannot be written
        file.seek(0)
        file.truncate()
        file.write(json.dumps(holder))
        file.flush()
    held = _held  # a lock still open at interpreter exit is closed after module globals go
    held[key] = [file, 1]
    try:
        yield
    finally:
        held.pop(key, None)
        file.close()  # releases the lock
