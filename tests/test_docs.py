"""The documentation site builds with ``mkdocs build --strict`` (no warnings)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="mkdocs not installed")
def test_docs_build_strict(tmp_path):
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert (site / "index.html").exists()
    # The model reference is generated from models/*.toml by docs/hooks.py.
    models_page = (site / "models" / "index.html").read_text(encoding="utf-8")
    for spec in sorted((ROOT / "models").glob("*.toml")):
        assert spec.stem in models_page
    assert "<!-- catalogue -->" not in models_page
