import os
import stat

import pytest

from headpose.errors import HeadposeError
from headpose.io import atomic_path, atomic_text


def test_file_appears_only_when_the_block_succeeds(tmp_path):
    target = tmp_path / "out" / "report.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole"


def test_directory_is_replaced_whole(tmp_path):
    target = tmp_path / "set"
    with atomic_path(target, directory=True) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(ValueError):
        with atomic_path(target, directory=True) as tmp:
            (tmp / "b").write_text("2")
            raise ValueError
    assert sorted(p.name for p in target.iterdir()) == ["a"]
    with atomic_path(target, directory=True) as tmp:
        (tmp / "c").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]


def test_a_symlink_is_written_through_to_its_target(tmp_path):
    real = tmp_path / "real.jsonl"
    real.write_text("old")
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    with atomic_path(link) as tmp:
        tmp.write_text("new")
    assert link.is_symlink() and real.read_text() == "new"


def test_special_files_and_folder_mixups_are_refused_naming_the_path(tmp_path):
    with pytest.raises(HeadposeError, match="/dev/null: is not a regular file"):
        with atomic_path("/dev/null"):
            pass
    with pytest.raises(HeadposeError, match="is a folder"):
        with atomic_path(tmp_path):
            pass
    (tmp_path / "file").write_text("x")
    with pytest.raises(HeadposeError, match="not a folder"):
        with atomic_path(tmp_path / "file", directory=True):
            pass


def test_permissions_follow_the_umask_for_files_and_folders(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "set", directory=True) as tmp:
            (tmp / "a").write_text("1")
        with atomic_path(tmp_path / "report.json") as tmp:
            tmp.write_text("{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "set").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "report.json").stat().st_mode) == 0o644


def test_temporaries_of_a_killed_writer_are_removed_by_the_next_write(tmp_path, dead_pid):
    leftover = tmp_path / f".set.{dead_pid}.abc123"
    leftover.mkdir()
    (leftover / "images.npy").write_bytes(b"half")
    alive = tmp_path / f".set.{os.getppid()}.xyz"  # a live writer's temporary stays
    alive.mkdir()
    with atomic_path(tmp_path / "set", directory=True) as tmp:
        (tmp / "a").write_text("1")
    assert not leftover.exists() and alive.exists()


def test_dash_means_stdout(tmp_path, capsys):
    with atomic_text("-") as out:
        out.write("line\n")
    assert capsys.readouterr().out == "line\n"
    with atomic_text(tmp_path / "f.txt") as out:
        out.write("whole")
    assert (tmp_path / "f.txt").read_text() == "whole"
