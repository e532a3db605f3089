"""A release's file in the local cache: downloaded once through ``keras.utils.get_file``, hash-checked.

The cache is ``$KZOO_CACHE`` (default ``$KERAS_HOME/kzoo``, that is ``~/.keras/kzoo``), files in its
``weights/`` folder under the release's ``file`` name (default: the URL's last part). A file put there
by hand is used as it is, so a machine without internet loads a release after one copy: the error
that a failed download gives names both the URL and that path. A file whose sha256 differs from the
release's (torchvision publishes the first 8 hex digits in its file names) is refused and removed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from kzoo.errors import KzooError

if TYPE_CHECKING:
    from kzoo.lang.weights import Release

CHUNK = 1 << 20


def keras_home() -> Path:
    """Keras' own folder (``$KERAS_HOME``, else ``~/.keras``): its models/ cache holds keras.applications' files."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()


def cache_dir() -> Path:
    """Where releases are kept: ``$KZOO_CACHE``, else ``$KERAS_HOME/kzoo`` (``~/.keras/kzoo``)."""
    if os.environ.get("KZOO_CACHE"):
        return Path(os.environ["KZOO_CACHE"]).expanduser()
    return keras_home() / "kzoo"


def file_name(release: Release) -> str:
    name = release.file or (release.url.rstrip("/").rsplit("/", 1)[-1] if release.url else release.release)
    if not name or "/" in name or name in (".", ".."):
        raise KzooError(f"release {release.name!r} names no file for the cache", "give it file: NAME")
    return name


def cached_path(release: Release) -> Path:
    """Where ``release``'s file is (or will be) in the cache."""
    return cache_dir() / "weights" / file_name(release)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def check_hash(path: Path, release: Release) -> None:
    """Refuse (and remove) a file whose sha256 does not start with the release's."""
    want = (release.sha256 or "").lower()
    if want and not sha256(path).startswith(want):
        path.unlink(missing_ok=True)
        raise KzooError(
            f"{path} is not the file of release {release.name!r}: its sha256 does not start with {want}",
            "it was removed; load the release again to download it, or copy the right file there",
        )


def fetch(release: Release) -> Path:
    """The release's file, from the cache or downloaded into it (atomically: a partial download is never used)."""
    path = cached_path(release)
    if path.is_file():
        check_hash(path, release)
        return path
    if not release.url:
        raise KzooError(
            f"release {release.name!r} cannot be downloaded by kzoo: get {file_name(release)} from "
            f"{release.source or 'its publisher'} and put it at {path} (or pass weights=FILE)"
        )
    part = path.with_name(path.name + ".part")
    part.unlink(missing_ok=True)
    try:
        import keras

        got = keras.utils.get_file(
            fname=part.name, origin=release.url, cache_dir=str(cache_dir()), cache_subdir="weights"
        )
    except Exception as exc:  # offline: URLError, OSError, Exception from get_file
        part.unlink(missing_ok=True)
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        reason = text.rsplit(" -- ", 1)[-1]  # Keras repeats the URL: "URL fetch failure on URL: None -- [Errno -2] ..."
        raise KzooError(
            f"could not download {release.url} ({reason[:200]})",
            f"offline, download it elsewhere and put it at {path}: kzoo then uses it without the internet",
        ) from None
    os.replace(got, path)
    check_hash(path, release)
    return path
