"""The compile cache's folder: where it is, what `info` reports, how it stays bounded.

The numba side (a second process loads the model; a changed model or version does not)
is tested with real compiles in ``tests/integration/test_compile_cache.py``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from fd_bayes.inference import compile_cache


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(compile_cache.CACHE_DIR_ENV, str(tmp_path))
    return tmp_path


def _entry(folder: Path, key: str, size: int, last_used: float, label: str = "m") -> None:
    models = folder / "models"
    models.mkdir(exist_ok=True)
    meta = {"label": label, "created": last_used, "last_used": last_used, "versions": {}}
    (models / f"{key}.json").write_text(json.dumps(meta))
    (models / f"compiled.fd_bayes_logp-{key}.py311.1.nbc").write_bytes(b"x" * size)
    (models / f"compiled.fd_bayes_logp-{key}.py311.nbi").write_bytes(b"i")


def test_the_folder_is_the_platforms_cache_unless_overridden(monkeypatch, tmp_path):
    monkeypatch.delenv(compile_cache.CACHE_DIR_ENV, raising=False)
    monkeypatch.setattr(compile_cache.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert compile_cache.cache_dir() == tmp_path / "xdg" / "fd_bayes"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert compile_cache.cache_dir() == tmp_path / ".cache" / "fd_bayes"
    monkeypatch.setattr(compile_cache.sys, "platform", "darwin")
    assert compile_cache.cache_dir() == tmp_path / "Library" / "Caches" / "fd_bayes"
    monkeypatch.setenv(compile_cache.CACHE_DIR_ENV, str(tmp_path / "mine"))
    assert compile_cache.cache_dir() == tmp_path / "mine"


@pytest.mark.parametrize(
    ("value", "on"), [("off", False), ("0", False), ("NO", False), ("on", True)]
)
def test_the_cache_can_be_turned_off(monkeypatch, value, on):
    monkeypatch.setenv(compile_cache.CACHE_SWITCH_ENV, value)
    assert compile_cache.enabled() is on


def test_info_lists_each_model_with_its_size(folder):
    assert compile_cache.info().entries == ()
    _entry(folder, "a" * 40, 1000, time.time() - 60, label="negbin_hier: example")
    _entry(folder, "b" * 40, 3000, time.time())
    info = compile_cache.info()
    assert {e.key for e in info.entries} == {"a" * 40, "b" * 40}
    assert info.total_bytes > 4000
    lines = info.lines()
    assert lines[0] == f"compile cache: {folder}"
    assert lines[1].startswith("2 compiled model(s)")
    # most recently used first
    assert lines[2].lstrip().startswith("b" * 12)
    assert "negbin_hier: example" in lines[3]


def test_pruning_removes_the_least_recently_used_first_and_keeps_the_one_in_use(folder):
    now = time.time()
    _entry(folder, "old0" * 10, 5000, now - 300)
    _entry(folder, "mid0" * 10, 5000, now - 200)
    _entry(folder, "new0" * 10, 5000, now - 100)
    compile_cache._prune(keep="old0" * 10, max_bytes=11000)
    assert {e.key for e in compile_cache.info().entries} == {"old0" * 10, "new0" * 10}
    assert not list((folder / "models").glob("*mid0*"))


def test_pruning_removes_old_stray_files_but_not_an_entry_being_written(folder):
    _entry(folder, "k" * 40, 10, time.time())
    models = folder / "models"
    stray, fresh = models / "compiled.x-deadbeef.py311.1.nbc", models / "compiled.y-beef.nbc"
    stray.write_bytes(b"s")
    fresh.write_bytes(b"f")
    hour_ago = time.time() - 7200
    os.utime(stray, (hour_ago, hour_ago))
    compile_cache._prune(keep="k" * 40)
    assert not stray.exists()
    assert fresh.exists()


def test_clear_empties_the_folder(folder):
    _entry(folder, "a" * 40, 10, time.time())
    _entry(folder, "b" * 40, 10, time.time())
    assert compile_cache.clear() == 2
    assert compile_cache.info().entries == ()
    assert compile_cache.clear() == 0


def test_a_damaged_entry_record_is_skipped(folder):
    _entry(folder, "a" * 40, 10, time.time())
    (folder / "models" / ("b" * 40 + ".json")).write_text("{not json")
    assert [e.key for e in compile_cache.info().entries] == ["a" * 40]


def test_the_installed_nutpie_has_what_the_cache_builds_on():
    # otherwise every fit would compile uncached, silently slow
    assert compile_cache.nutpie_supported()


def test_the_key_names_every_library_in_the_compiled_code():
    versions = compile_cache._versions()
    for name in ("fd_bayes", "python", *compile_cache.KEY_LIBRARIES):
        assert versions[name], name
