"""Files in and out, safely.

Reading (:func:`read_text`): only regular files, at most a size bound, UTF-8,
so a FIFO, ``/dev/zero``, a symlink loop or a 50 MB file is a clear error at
once instead of a hang. Writing (:func:`atomic_path`, :func:`write_text_atomic`):
a temporary file beside the target, then a rename, so nothing on disk is ever
half-written; the temporaries a killed process left behind are removed by the
next write of the same file. :func:`os_error` turns an ``OSError`` (a full or
read-only disk, a file where a folder should be) into a one-line
:class:`~kzoo.errors.KzooError`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kzoo.errors import KzooError, Mark, SpecError

MAX_TEXT_BYTES = 1 << 20  # YAML files (architectures, recipes, heads, spaces, studies) are small text


def read_text(path: str | Path, what: str = "file", limit: int = MAX_TEXT_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes, or a SpecError saying what is wrong."""
    data = read_bytes(path, what, limit, "give the path of a .yaml file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(f"not UTF-8 text ({exc.reason})", Mark(str(path), line, col)) from None


def read_bytes(path: str | Path, what: str = "file", limit: int = MAX_TEXT_BYTES, hint: str | None = None) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or a SpecError saying what is wrong."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise _read_error(path, what, exc) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise SpecError(
                f"{path} is a directory, not {article(what)}", hint=hint or f"give the path of {article(what)}"
            )
        if not stat.S_ISREG(info.st_mode):
            raise SpecError(
                f"{path} is not a regular file (a pipe, device or socket)", hint=f"give the path of {article(what)}"
            )
        if info.st_size > limit:
            raise SpecError(
                f"{path} is {info.st_size:,} bytes; kzoo reads at most {limit:,} from {article(what)}",
                Mark(str(path)),
                hint="is this the right file?",
            )
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 26, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise _read_error(path, what, exc) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise SpecError(f"{path} is larger than {limit:,} bytes", Mark(str(path)))
    return data


def article(noun: str) -> str:
    """'a file', 'an architecture file'."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _missing_hint(what: str) -> str:
    """One hint per kind of file: what else the user may give."""
    from kzoo.paths import shipped_names

    if what.startswith("architecture"):
        return "check the path, or give a zoo name (kzoo list)"
    for kind, noun in (("recipes", "recipe"), ("studies", "study")):
        if what.startswith(noun):
            return f"check the path, or name a {noun} kzoo ships: {', '.join(shipped_names(kind))}"
    return "check the path"


def _read_error(path: Path, what: str, exc: OSError) -> SpecError:
    if exc.errno == errno.ENOENT:
        return SpecError(f"no such file: {path}", hint=_missing_hint(what))
    if exc.errno == errno.ELOOP:
        return SpecError(f"{path}: a symbolic link loop", hint="the link points (through others) back at itself")
    if exc.errno == errno.EISDIR:
        return SpecError(f"{path} is a directory, not {article(what)}")
    return SpecError(f"cannot read {path}: {exc.strerror}", Mark(str(path)))


def os_error(exc: OSError, doing: str | None = None) -> KzooError:
    """A one-line error for an OSError (the file it names, what went wrong, what to do)."""
    name = exc.filename or ""
    where = f" {name}" if name else ""
    what = f"{doing}: " if doing else ""
    hints = {
        errno.ENOSPC: "the disk is full: free some space (a killed or stopped run resumes from its last backup)",
        errno.EDQUOT: "the disk quota is exhausted: free some space",
        errno.EROFS: "the file system is read-only: give an --output on a writable disk",
        errno.EACCES: "you may not write there: give an --output you own",
        errno.EPERM: "you may not write there: give an --output you own",
        errno.ENOTDIR: "a file stands where a folder is needed: choose another --output",
        errno.EISDIR: "a folder stands where a file is needed: give a file name",
        errno.EEXIST: "something is already there: choose another name",
        errno.ENAMETOOLONG: "use a shorter path",
    }
    message = f"{what}cannot write{where}: {exc.strerror or exc}"
    return KzooError(message, hints.get(exc.errno or 0))


def is_stale(tmp: Path) -> bool:
    """A temporary file of :func:`atomic_path` whose process no longer runs."""
    match = re.search(r"\.(\d+)\.tmp", tmp.name)
    if not match:
        return False
    pid = int(match.group(1))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False


def clean_stale(folder: Path, stem: str, suffix: str) -> None:
    """Remove what killed writers of ``stem + suffix`` left in ``folder``."""
    try:
        for tmp in folder.glob(f".{glob_escape(stem)}.*.tmp{glob_escape(suffix)}"):
            if is_stale(tmp):
                if tmp.is_dir():
                    shutil.rmtree(tmp, ignore_errors=True)
                else:
                    tmp.unlink(missing_ok=True)
    except OSError:
        pass


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def output_file(path: str | Path, suffixes: tuple[str, ...], flag: str) -> Path:
    """The file an option (``flag``) names to write: it must end in one of ``suffixes`` and not be a directory."""
    path = Path(path)
    if path.suffix not in suffixes:
        hint = f"e.g. {flag} {path.with_suffix(suffixes[0])}"
        raise SpecError(f"{flag} must end in {' or '.join(suffixes)}, got {path}", hint=hint)
    if path.is_dir():
        raise SpecError(f"{path} is a directory", hint=f"give a file name ending in {suffixes[0]}")
    return path


@contextmanager
def atomic_paths(*outs: str | Path) -> Iterator[list[Path]]:
    """Temporary paths beside each of ``outs``, all renamed onto them (back to back, in order) when the block
    ends without an error, all removed otherwise: files that belong together (a network and its weights) are
    written as one unit, never one without the other."""
    with contextlib.ExitStack() as stack:
        pending: list[tuple[Path, Path]] = []
        for out in outs:
            tmp = stack.enter_context(_temporary(Path(out)))
            pending.append((tmp, Path(out)))
        yield [tmp for tmp, _ in pending]
        if len(pending) == 1:
            os.replace(*pending[0])
            return
        backups = [stack.enter_context(_temporary(out.with_name(out.name + ".old"))) for _, out in pending]
        for (_, out), backup in zip(pending, backups, strict=True):
            if out.is_file():
                os.link(out, backup)  # the earlier file, to put back if a later rename fails
        done: list[int] = []
        try:
            for i, (tmp, out) in enumerate(pending):
                os.replace(tmp, out)
                done.append(i)
        except BaseException:
            for i in done:  # undo: the earlier pair comes back (or nothing, where there was none)
                out, backup = pending[i][1], backups[i]
                os.replace(backup, out) if backup.exists() else out.unlink(missing_ok=True)
            raise


@contextmanager
def atomic_path(out: str | Path) -> Iterator[Path]:
    """A temporary path beside ``out`` (same suffix, so writers that go by it still do): renamed onto ``out``
    when the block ends without an error, removed otherwise."""
    with _temporary(Path(out)) as tmp:
        yield tmp
        os.replace(tmp, out)


@contextmanager
def _temporary(out: Path) -> Iterator[Path]:
    """A temporary path beside ``out``, removed when the block ends (the caller renames it first on success)."""
    if out.is_dir():
        raise SpecError(f"{out} is a directory", hint="give the path of a file to write")
    if out.is_file() and not out.stat().st_mode & 0o222:
        raise SpecError(f"{out} is read-only", hint="make it writable (chmod u+w), or write elsewhere")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise SpecError(
            f"cannot create {out.parent}: a file of that name is in the way", hint="choose another output path"
        ) from None
    suffix = "".join(out.suffixes)  # all of them: Keras wants a weights file to end in .weights.h5
    stem = out.name[: len(out.name) - len(suffix)] if suffix else out.name
    clean_stale(out.parent, stem, suffix)
    tmp = out.with_name(f".{stem}.{os.getpid()}.tmp{suffix}")
    try:
        yield tmp
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def write_text_atomic(out: str | Path, text: str) -> Path:
    with atomic_path(out) as tmp:
        tmp.write_text(text)
    return Path(out)


MARGIN_BYTES = 1 << 20


def check_space(folder: str | Path, needed: int, what: str, then: str = "rerun the same command") -> None:
    """Refuse to start writing ``needed`` bytes into ``folder`` when its disk has less free (plus a margin).

    HDF5 and zip writers crash or leave garbage on a full disk; asking first turns that into one clear line.
    ``then`` is what to do once there is space. A virtual file system (``/proc``, ``/sys``: no blocks at all)
    is refused as such, not called full.
    """
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        info = os.statvfs(folder)
    except OSError:
        return
    if info.f_flag & os.ST_RDONLY:
        raise KzooError(f"{folder} is on a read-only file system", "give an output path on a writable disk")
    if info.f_blocks == 0:
        raise KzooError(f"{folder} is on a virtual file system, not a disk", "give an output path on a disk")
    free = info.f_bavail * info.f_frsize
    if free < needed + MARGIN_BYTES:
        raise KzooError(
            f"the disk holding {folder} is full: {what} needs about {human_bytes(needed)}, {human_bytes(free)} free",
            f"free some space and {then}",
        )


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
