"""kzoo.files and kzoo.errors: bounded reading, atomic writing, clean OS errors, bounded messages."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from kzoo.errors import KzooError, Mark, SpecError, clip
from kzoo.files import article, atomic_path, check_space, os_error, read_text, write_text_atomic


def test_read_text_refuses_what_is_not_a_small_regular_utf8_file(tmp_path):
    good = tmp_path / "a.yaml"
    good.write_text("name: x\n")
    assert read_text(good) == "name: x\n"
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(SpecError, match="not a regular file"):
        read_text(tmp_path / "pipe")  # returns at once: opened non-blocking
    with pytest.raises(SpecError, match="is a directory"):
        read_text(tmp_path)
    with pytest.raises(SpecError, match="at most 4 "):
        read_text(good, limit=4)
    (tmp_path / "l1").symlink_to(tmp_path / "l2")
    (tmp_path / "l2").symlink_to(tmp_path / "l1")
    with pytest.raises(SpecError, match="symbolic link loop"):
        read_text(tmp_path / "l1")
    (tmp_path / "bad.yaml").write_bytes(b"name: x\nx: caf\xe9\n")
    with pytest.raises(SpecError) as err:
        read_text(tmp_path / "bad.yaml")
    assert (err.value.line, err.value.col) == (2, 7)


def test_atomic_path_renames_on_success_and_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "sub" / "model.weights.h5"
    with atomic_path(out) as tmp:
        assert tmp.name.endswith(".weights.h5") and tmp.parent == out.parent  # Keras goes by the suffixes
        tmp.write_text("x")
    assert out.read_text() == "x"
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert out.read_text() == "x" and [p.name for p in out.parent.iterdir()] == ["model.weights.h5"]
    with pytest.raises(SpecError, match="is a directory"), atomic_path(tmp_path / "sub"):
        pass
    (tmp_path / "afile").write_text("")
    with pytest.raises(SpecError, match="in the way"), atomic_path(tmp_path / "afile" / "x.json"):
        pass


def test_os_errors_become_one_line_with_a_hint():
    full = os_error(OSError(errno.ENOSPC, "No space left on device", "/runs/x/model.keras"))
    assert "No space left on device" in full.message and "/runs/x/model.keras" in full.message
    assert "free some space" in full.hint
    assert "read-only" in os_error(OSError(errno.EROFS, "Read-only file system", "/x")).hint


def test_check_space_refuses_more_than_the_disk_has(tmp_path):
    check_space(tmp_path, 1024, "a small file")
    with pytest.raises(KzooError, match="is full: a huge file needs about"):
        check_space(tmp_path, 1 << 60, "a huge file")
    check_space(tmp_path / "not" / "yet" / "made", 1024, "a file in a new folder")  # measured at its parent
    with pytest.raises(KzooError, match="is full") as full:
        check_space(tmp_path, 1 << 60, "a huge file", then="rerun kzoo build")
    assert full.value.hint == "free some space and rerun kzoo build"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_check_space_calls_a_virtual_file_system_what_it_is():
    with pytest.raises(KzooError, match="/proc is on a virtual file system, not a disk"):
        check_space("/proc/x.keras", 1024, "saving x.keras")


def test_messages_stay_on_one_line_and_are_bounded():
    text = clip("a\nb\x1b[31mc" + "x" * 1000, 100)
    assert "\n" not in text and "\\x1b" in text and len(text) <= 100 and "more characters" in text
    error = SpecError("bad value " + "y" * 5000, Mark("f.yaml", 3, 4), "layers[0]", "hint\nwith a newline")
    lines = str(error).splitlines()
    assert len(lines) == 2 and lines[0].startswith("f.yaml:3:4: error: bad value") and len(lines[0]) < 400
    assert article("architecture file") == "an architecture file" and article("recipe") == "a recipe"


def test_write_text_atomic_replaces_whole_files(tmp_path):
    target = tmp_path / "results.json"
    write_text_atomic(target, "{}\n")
    write_text_atomic(target, '{"a": 1}\n')
    assert target.read_text() == '{"a": 1}\n' and len(list(tmp_path.iterdir())) == 1
