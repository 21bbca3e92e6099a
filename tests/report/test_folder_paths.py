"""A received study folder's manifest and journal may not reach outside the folder.

Crafted ``.avoidrl-journal.json`` and ``.avoidrl-manifest.json`` files are
refused with a clear ValueError before anything is touched: the files beside
the folder (and the folder itself) stay byte for byte as they were.
"""

import json
import os

import pytest

from avoidrl.report import _folder
from avoidrl.report._atomic import _record

VICTIM = b"a file beside the study folder\n"


def _tree(root):
    """{relative path: bytes or link target} of everything under ``root``."""
    state = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                state[rel] = ("link", os.readlink(path))
            elif os.path.isfile(path):
                with open(path, "rb") as handle:
                    state[rel] = handle.read()
    return state


@pytest.fixture
def study(tmp_path):
    """A study folder written by avoidrl, a victim file beside it and one further up."""
    out = tmp_path / "here" / "study"
    out.parent.mkdir()
    with _folder.staged(out, ("FIT",), info={"seed": 1}) as stage:
        (stage.path / "result.csv").write_text("result\n")
        stage.describe("FIT", "| result.csv | the result |")
    (out / "notes.txt").write_text("my notes\n")
    (tmp_path / "here" / "victim.txt").write_bytes(VICTIM)
    (tmp_path / "notes.txt").write_bytes(VICTIM)
    return out


def _journal(out, moves=(), remove=None, staging=".avoidrl-stage-999999-0123abcd"):
    (out / staging).mkdir(exist_ok=True)
    for rel in moves:  # the staged files the journal would move in
        if rel and not rel.startswith("/"):
            source = out / staging / rel
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_text("planted\n")
    (out / _folder.JOURNAL).write_text(json.dumps(
        {"staging": staging, "moves": list(moves), "remove": remove or {}}))


def _refused(out, match, overwrite=True):
    before = _tree(out.parents[1])
    with pytest.raises(ValueError, match=match):
        _folder.check(out, ("FIT",), ["result.csv"], overwrite=overwrite)
    with pytest.raises(ValueError, match=match):
        with _folder.staged(out, ("FIT",), overwrite=overwrite) as stage:
            (stage.path / "result.csv").write_text("new\n")
    assert _tree(out.parents[1]) == before  # nothing touched, inside or outside


@pytest.mark.parametrize("rel", ["../../notes.txt", "../victim.txt", "sub/../../victim.txt",
                                 "/tmp/x.txt", "./result.csv", "a//b", ""])
def test_a_journal_naming_a_path_outside_is_refused(study, rel):
    _journal(study, moves=[rel])
    _refused(study, "not a path inside")


def test_a_journal_removing_a_file_outside_is_refused(study):
    victim = study.parent / "victim.txt"
    _journal(study, remove={"../victim.txt": _record(victim)})
    _refused(study, "not a path inside")
    assert victim.read_bytes() == VICTIM


def test_a_journal_through_a_symbolic_link_is_refused(study):
    (study / "out").symlink_to(study.parent)  # a folder link pointing outside
    _journal(study, moves=["out/victim.txt"])
    _refused(study, "symbolic link")
    (study / "escape.txt").symlink_to(study.parent / "victim.txt")  # a file link
    _journal(study, moves=["escape.txt"])
    _refused(study, "not a path inside")


def test_a_journal_with_a_linked_staging_folder_is_refused(study):
    (study / ".avoidrl-stage-999999-0123abcd").symlink_to(study.parent)
    (study / _folder.JOURNAL).write_text(json.dumps(
        {"staging": ".avoidrl-stage-999999-0123abcd", "moves": ["victim.txt"], "remove": {}}))
    _refused(study, "unexpected staging folder")


@pytest.mark.parametrize("content, match", [
    ({"staging": ".avoidrl-stage-999999-0123abcd", "moves": []}, "no 'remove' dict"),
    ({"moves": [], "remove": {}}, "no 'staging' str"),
    ({"staging": ".avoidrl-stage-999999-0123abcd", "moves": "x", "remove": {}}, "'moves' list"),
    ({"staging": "../elsewhere", "moves": [], "remove": {}}, "unexpected staging folder"),
    ([1, 2], "not a JSON object"),
])
def test_a_malformed_journal_gives_a_clear_error(study, content, match):
    (study / _folder.JOURNAL).write_text(json.dumps(content))
    _refused(study, match)


def test_a_journal_that_is_not_json_gives_a_clear_error(study):
    (study / _folder.JOURNAL).write_text("{ not json")
    _refused(study, "not a readable avoidrl journal")


@pytest.mark.parametrize("rel", ["../victim.txt", "../../notes.txt", "/etc/hostname",
                                 "sub/../../victim.txt"])
def test_a_manifest_naming_a_path_outside_is_refused(study, rel, monkeypatch):
    victim = (study / rel) if not rel.startswith("/") else None
    manifest = json.loads((study / _folder.MANIFEST).read_text())
    # the hash matches, so an unchecked manifest would let overwrite remove it as stale
    record = _record(victim) if victim is not None and victim.exists() else \
        {"size": 1, "sha256": "0" * 64}
    manifest["runs"]["FIT"]["files"][rel] = record
    (study / _folder.MANIFEST).write_text(json.dumps(manifest))
    # the journal fallback (a mount-point folder) is the path that removed it
    monkeypatch.setattr(_folder, "_can_exchange_and_link", lambda probe: False)
    _refused(study, "not a path inside")


def test_a_manifest_entry_through_a_symbolic_link_is_refused(study):
    (study / "out").symlink_to(study.parent)
    manifest = json.loads((study / _folder.MANIFEST).read_text())
    manifest["runs"]["FIT"]["files"]["out/victim.txt"] = _record(study.parent / "victim.txt")
    (study / _folder.MANIFEST).write_text(json.dumps(manifest))
    _refused(study, "symbolic link")


def test_a_sound_journal_is_still_rolled_forward(study):
    staging = ".avoidrl-stage-999999-0123abcd"
    _journal(study, moves=["figures/new.png"], staging=staging)
    _folder.recover(study)
    assert (study / "figures" / "new.png").read_text() == "planted\n"
    assert not (study / _folder.JOURNAL).exists() and not (study / staging).exists()


def test_a_symbolic_link_loop_is_refused(study):
    (study / "loop").symlink_to(study / "loop")
    _journal(study, moves=["loop"])
    _refused(study, "not a path inside")
