"""The scripts in ``examples/`` run end to end (``--quick``: 2 chains x 300 draws).

They run in this process (``runpy``), so they reuse the models the session has already
compiled. Their numbers are not checked here (too few draws to report, as the scripts
say); that they run against the current API is.
"""

from __future__ import annotations

import runpy
import sys
import warnings
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_example_runs(script, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sys, "argv", [script, "--quick"])
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        # --quick fits are too short to converge: their DiagnosticsWarning is expected
        warnings.simplefilter("ignore")
        runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    out = capsys.readouterr().out
    assert len(out.splitlines()) > 5, out
    assert "Traceback" not in out
