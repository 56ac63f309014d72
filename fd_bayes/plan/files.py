"""Writing a planning study's files: :func:`write_plan`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fd_bayes.plan.result import Assurance, SampleSize


def write_plan(result: Assurance | SampleSize, out: str | Path) -> list[Path]:
    """Write ``assurance.csv``, ``simulations.csv``, ``plan.md`` and (for a size search)
    ``assurance_curve.png``/``.svg`` to the folder ``out``. No person data."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    if isinstance(result, SampleSize):
        table = result.table()
        sims = pd.concat(
            [r.sims.assign(n_treated=r.design.n_treated) for r in result.results], ignore_index=True
        )
        curve = [out / "assurance_curve.png", out / "assurance_curve.svg"]
        result.plot(curve)
        paths += curve
        text = result.markdown()
        best = result.smallest or result.results[-1]
        text += "\n" + best.markdown().replace("## Planning", "### Detail")
        text += "\n![Assurance by size](assurance_curve.png)\n"
    else:
        table = result.table()
        sims = result.sims
        text = result.markdown()
    table.to_csv(out / "assurance.csv", index=False)
    sims.drop(columns=["warnings"], errors="ignore").to_csv(out / "simulations.csv", index=False)
    (out / "plan.md").write_text(text, encoding="utf-8")
    return [out / "assurance.csv", out / "simulations.csv", out / "plan.md", *paths]


__all__ = ["write_plan"]
