"""Figures. Matplotlib only, drawn off-screen (Agg); nothing here reads person data."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fd_bayes.constants import HDI_PROB


def forest_plot(effects: pd.DataFrame, path: str | Path | None = None, prob: float = HDI_PROB):
    """Rate ratios with HDIs on a log axis: crime types, overall and harm, per outcome.

    Returns the matplotlib Figure; writes it to ``path`` when given.
    """
    keep = effects[effects["level"].isin(["crime_type", "overall", "harm"])]
    keep = keep[(keep["level"] != "harm") | (keep["age_band"] == "all")]
    outcomes = list(pd.unique(keep["outcome"]))
    heights = [len(keep[keep["outcome"] == o]) for o in outcomes]
    fig, axes = plt.subplots(
        len(outcomes),
        1,
        figsize=(7.5, 1.2 + 0.38 * sum(heights) + 0.6 * len(outcomes)),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
        sharex=True,
    )
    for ax, outcome in zip(axes[:, 0], outcomes, strict=True):
        part = keep[keep["outcome"] == outcome].reset_index(drop=True)
        labels = [
            "Overall"
            if r.level == "overall"
            else "Harm-weighted"
            if r.level == "harm"
            else str(r.crime_type).capitalize()
            for r in part.itertuples()
        ]
        y = np.arange(len(part))[::-1]
        summary = part["level"] != "crime_type"
        colours = np.where(summary, "#1b4f72", "#2e86c1")
        ax.hlines(y, part["rr_lower"], part["rr_upper"], color=colours, lw=2)
        ax.scatter(
            part["rr_median"], y, color=colours, zorder=3, marker="D", s=np.where(summary, 45, 30)
        )
        ax.axvline(1.0, color="grey", ls="--", lw=1)
        ax.set_yticks(y, labels)
        ax.set_title(f"{outcome.capitalize()}", loc="left", fontsize=11)
        for yi, r in zip(y, part.itertuples(), strict=True):
            ax.annotate(
                f"P(reduction) {r.p_reduction:.2f}",
                (1.02, yi),
                xycoords=("axes fraction", "data"),
                va="center",
                fontsize=8,
                color="dimgrey",
            )
        ax.grid(axis="x", alpha=0.3)
    ax = axes[-1, 0]
    ax.set_xscale("log")
    ticks = [0.125, 0.25, 0.5, 1, 2, 4]
    lo = min(keep["rr_lower"].min(), 0.9)
    hi = max(keep["rr_upper"].max(), 1.1)
    ticks = [t for t in ticks if lo / 1.5 <= t <= hi * 1.5]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel(
        f"Rate ratio, treatment vs control (median and {100 * prob:.0f}% HDI; < 1 = fewer)"
    )
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150, bbox_inches="tight")
        plt.close(fig)
    return fig
