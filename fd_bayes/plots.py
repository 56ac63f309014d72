"""Figures. Matplotlib only, drawn on :class:`matplotlib.figure.Figure` objects (never
pyplot, so importing fd_bayes leaves the user's backend alone); nothing here reads person
data. A leaf of the package: it imports nothing from fd_bayes but constants."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import matplotlib.ticker
import numpy as np
import pandas as pd

from fd_bayes.constants import HDI_PROB


def subplots(nrows: int = 1, ncols: int = 1, **kwargs):
    """``(figure, axes)`` like ``pyplot.subplots``, on a :class:`~matplotlib.figure.Figure`
    that pyplot does not track (no backend switch, nothing to close). ``figsize`` and
    ``layout`` go to the figure, the rest to :meth:`~matplotlib.figure.Figure.subplots`."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=kwargs.pop("figsize", None), layout=kwargs.pop("layout", None))
    return fig, fig.subplots(nrows, ncols, **kwargs)


def save_figure(fig, path, dpi: int = 150) -> None:
    """Write ``fig`` to one path or to each of a sequence of paths (format from the
    suffix, e.g. ``.png`` and ``.svg``), as :func:`render_figure` renders it."""
    paths = [Path(path)] if isinstance(path, str | Path) else [Path(p) for p in path]
    for p in paths:
        fmt = p.suffix.lower().lstrip(".")
        p.write_bytes(render_figure(fig, (fmt,), dpi=dpi)[fmt])


def render_figure(fig, formats: Sequence[str] = ("png", "svg"), dpi: int = 150) -> dict[str, bytes]:
    """``fig`` rendered once per format, as bytes by format: a report draws each figure
    once and writes or embeds the bytes."""
    import io

    # The figure is laid out once, at the output dpi, and its tight bounding box handed
    # to every format. Left to itself, savefig lays a figure out again before each
    # format's drawing (twice with bbox_inches="tight"), which is most of its time.
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    engine, dpi_before = fig.get_layout_engine(), fig.dpi
    fig.set_dpi(dpi)
    try:
        if engine is not None and not isinstance(engine, PlaceHolderLayoutEngine):
            fig.draw_without_rendering()  # a layout engine places the axes when drawn
        bbox = fig.get_tightbbox().padded(matplotlib.rcParams["savefig.pad_inches"])
        fig.set_layout_engine(None)  # the axes stay where the layout put them
        fig.set_dpi(dpi_before)
        out = {}
        # a fixed salt: the SVG's element ids, and so its bytes, are the same every time
        with matplotlib.rc_context({"svg.hashsalt": "fd_bayes"}):
            for fmt in formats:
                buf = io.BytesIO()
                fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches=bbox, metadata=_metadata(fmt))
                out[fmt] = buf.getvalue()
    finally:
        fig.set_dpi(dpi_before)
        if engine is not None:
            fig.set_layout_engine(engine)
    return out


def _metadata(fmt: str) -> dict | None:
    # no creation date in SVG/PDF files, so that re-rendering gives identical files
    return {"Date": None} if fmt in ("svg", "pdf") else None


def _forest_rows(effects: pd.DataFrame, by_age: bool) -> pd.DataFrame:
    """Rows of the forest plot in display order, with their labels."""
    rows = []
    for outcome in pd.unique(effects["outcome"]):
        e = effects[effects["outcome"] == outcome]
        for _, r in e[e["level"] == "crime_type"].iterrows():
            rows.append({**r, "label": str(r["crime_type"]).capitalize(), "kind": "crime"})
            if by_age:
                cells = e[(e["level"] == "cell") & (e["crime_type"] == r["crime_type"])]
                if len(cells) > 1:
                    for _, c in cells.iterrows():
                        rows.append({**c, "label": f"    aged {c['age_band']}", "kind": "cell"})
        if by_age:
            for _, r in e[e["level"] == "age_band"].iterrows():
                rows.append({**r, "label": f"All, aged {r['age_band']}", "kind": "summary"})
        for _, r in e[e["level"] == "overall"].iterrows():
            rows.append({**r, "label": "Overall", "kind": "summary"})
        for _, r in e[(e["level"] == "harm") & (e["age_band"] == "all")].iterrows():
            rows.append({**r, "label": "Harm-weighted", "kind": "summary"})
    return pd.DataFrame(rows)


def _informed(rows: pd.DataFrame) -> list[bool]:
    """The ``informed`` flag of effects rows (True for tables without the column)."""
    if "informed" not in rows:
        return [True] * len(rows)
    return [True if pd.isna(v) else bool(v) for v in rows["informed"]]


def _frequentist_intervals(frequentist: pd.DataFrame | None, rows: pd.DataFrame) -> pd.DataFrame:
    """The NB GLM rate ratio and interval for each forest row (NaN where there is none)."""
    keys = ["outcome", "crime_type", "age_band"]
    if frequentist is None:
        return pd.DataFrame(np.nan, index=rows.index, columns=["estimate", "lower", "upper"])
    nb = frequentist[
        (frequentist["method"] == "negbin_glm") & (frequentist["measure"] == "rate_ratio")
    ][[*keys, "estimate", "lower", "upper"]]
    merged = rows[keys].astype(str).merge(nb.astype({k: str for k in keys}), on=keys, how="left")
    harm = (rows["level"] == "harm").to_numpy()
    merged.loc[harm, ["estimate", "lower", "upper"]] = np.nan  # no classical harm estimate
    return merged[["estimate", "lower", "upper"]].set_index(rows.index)


def draw_forest(
    ax,
    labels: Sequence[str],
    estimate,
    lower,
    upper,
    *,
    colour="0.2",
    line_colour=None,
    size=28.0,
    marker: str = "D",
    lw: float = 2.0,
    second: tuple | None = None,
    second_label: str | None = None,
    pooled: tuple[float, float, float] | None = None,
    pooled_label: str = "Pooled",
    pooled_intervals: Sequence[tuple[float, float]] = (),
    notes: Sequence[str] | None = None,
    reference: float | None = None,
) -> np.ndarray:
    """Draw the rows of a forest plot on ``ax``: the one routine of both forest plots.

    Each row is a label, an estimate (a marker) and its interval (a line), top to bottom.

    Parameters
    ----------
    ax : matplotlib Axes
    labels : sequence of str
        One label per row (the y tick labels).
    estimate, lower, upper : array-like
        The estimate and interval of each row.
    colour, line_colour, size, marker, lw
        Marker colour (one or one per row), interval colour (default ``colour``), marker
        area (one or one per row), marker shape and interval width.
    second : (estimate, lower, upper), optional
        A second estimate and interval per row (NaN where a row has none), drawn
        beneath it in grey, e.g. a frequentist estimate; ``second_label`` names it in a
        legend.
    pooled : (estimate, lower, upper), optional
        A pooled estimate, drawn as a diamond on a row below the others, labelled
        ``pooled_label``; ``pooled_intervals`` are further intervals drawn dotted on that
        row (a prediction interval).
    notes : sequence of str, optional
        A short text per row, written right of the axes.
    reference : float, optional
        Where to draw the dashed no-effect line (1 for ratios, 0 for their logarithms).

    Returns
    -------
    numpy.ndarray
        The y position of each row (rows at ``n - 1, ..., 0``; shifted up by 2 to make
        room for a pooled row at 0.5).
    """
    n = len(labels)
    y = np.arange(n)[::-1].astype(float) + (2.0 if pooled is not None else 0.0)
    ax.hlines(y, lower, upper, color=colour if line_colour is None else line_colour, lw=lw)
    ax.scatter(estimate, y, s=size, marker=marker, color=colour, zorder=3)
    if second is not None:
        est2, lo2, hi2 = (np.asarray(x, dtype=float) for x in second)
        has = ~np.isnan(est2)
        if has.any():
            yf = y[has] - 0.28
            ax.hlines(yf, lo2[has], hi2[has], color="grey", lw=1)
            ax.scatter(est2[has], yf, color="grey", s=10, zorder=3, label=second_label)
    ticks, tick_labels = list(y), [str(x) for x in labels]
    if pooled is not None:
        est, lo, hi = pooled
        ax.fill([lo, est, hi, est], [0.5, 0.8, 0.5, 0.2], color="tab:blue", zorder=3)
        for plo, phi in pooled_intervals:
            ax.hlines(0.5, plo, phi, color="tab:blue", lw=1, linestyles="dotted")
        ticks.append(0.5)
        tick_labels.append(pooled_label)
    if reference is not None:
        ax.axvline(reference, color="grey", ls="--", lw=1)
    ax.set_yticks(ticks, tick_labels)
    for yi, note in zip(y, notes or (), strict=False):
        ax.annotate(
            note,
            (1.02, yi),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize=8,
            color="dimgrey",
        )
    return y


def pooled_forest_plot(
    frame: pd.DataFrame,
    pooled: tuple[float, float, float],
    pooled_intervals: Sequence[tuple[float, float]] = (),
    title: str = "",
    xlabel: str = "effect",
    path: str | Path | Sequence[str | Path] | None = None,
):
    """The forest plot of a meta-analysis: studies (boxes sized by weight) and the pooled
    diamond, on the effect's own scale with a dashed line at 0.

    ``frame`` is indexed by study label, with columns ``yi``, ``ci_lower``, ``ci_upper``
    and optionally ``weight`` (percent; equal weights without it). ``pooled`` is the
    pooled estimate and interval; ``pooled_intervals`` are drawn dotted on its row (the
    prediction interval). Returns the Figure; writes it to ``path`` when given.
    """
    k = len(frame)
    fig, ax = subplots(figsize=(7.0, 1.6 + 0.35 * (k + 2)))
    w = frame["weight"].to_numpy() if "weight" in frame else np.full(k, 100.0 / k)
    draw_forest(
        ax,
        list(frame.index.astype(str)),
        frame["yi"],
        frame["ci_lower"],
        frame["ci_upper"],
        colour="0.2",
        line_colour="0.3",
        size=20 + 4 * w,
        marker="s",
        lw=1.0,
        pooled=pooled,
        pooled_intervals=pooled_intervals,
        reference=0.0,
    )
    ax.set_ylim(-0.2, k + 1.8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def forest_plot(
    effects: pd.DataFrame,
    path: str | Path | Sequence[str | Path] | None = None,
    prob: float = HDI_PROB,
    frequentist: pd.DataFrame | None = None,
    by_age: bool = True,
):
    """Rate ratios with HDIs on a log axis, per outcome.

    Rows: each crime type, then (``by_age``) its age-band cells, the age bands over all
    crime types, overall and harm-weighted. With a ``frequentist`` table
    (:func:`fd_bayes.frequentist.compare`), the NB GLM rate ratio and its 95% interval are
    drawn beneath each Bayesian interval in grey.

    Returns the matplotlib Figure; writes it to ``path`` when given (a sequence of paths
    writes one file per path, e.g. ``forest.png`` and ``forest.svg``). The rows are drawn
    by :func:`draw_forest`, as those of :func:`pooled_forest_plot`.
    """
    rows = _forest_rows(effects, by_age)
    freq = _frequentist_intervals(frequentist, rows)
    outcomes = list(pd.unique(rows["outcome"]))
    heights = [int((rows["outcome"] == o).sum()) for o in outcomes]
    fig, axes = subplots(
        len(outcomes),
        1,
        figsize=(7.5, 1.2 + 0.34 * sum(heights) + 0.6 * len(outcomes)),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
        sharex=True,
    )
    colour = {"crime": "#2e86c1", "cell": "#85c1e9", "summary": "#1b4f72"}
    for ax, outcome in zip(axes[:, 0], outcomes, strict=True):
        mask = (rows["outcome"] == outcome).to_numpy()
        part, fpart = rows[mask].reset_index(drop=True), freq[mask].reset_index(drop=True)
        has = fpart["estimate"].notna().to_numpy()
        draw_forest(
            ax,
            list(part["label"]),
            part["rr_median"],
            part["rr_lower"],
            part["rr_upper"],
            colour=[colour[k] for k in part["kind"]],
            size=[45 if k == "summary" else 28 for k in part["kind"]],
            second=(fpart["estimate"], fpart["lower"], fpart["upper"]),
            second_label="NB GLM (95% CI)",
            notes=[
                f"P(reduction) {p:.2f}" if ok else "weakly informed: no claim"
                for p, ok in zip(part["p_reduction"], _informed(part), strict=True)
            ],
            reference=1.0,
        )
        ax.set_title(f"{outcome.capitalize()}", loc="left", fontsize=11)
        ax.grid(axis="x", alpha=0.3)
        if has.any() and outcome == outcomes[0]:
            ax.legend(loc="upper right", fontsize=7, frameon=False)
    ax = axes[-1, 0]
    ax.set_xscale("log")
    finite = pd.concat([rows[["rr_lower", "rr_upper"]].stack(), freq.stack()]).to_numpy(float)
    finite = finite[np.isfinite(finite) & (finite > 0)]
    lo = max(min(finite.min(), 0.9), 1 / 64)
    hi = min(max(finite.max(), 1.1), 64)
    ax.set_xlim(lo / 1.2, hi * 1.2)
    ticks = [
        t
        for t in (1 / 64, 1 / 32, 1 / 16, 0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)
        if lo / 1.2 <= t <= hi * 1.2
    ]
    ax.set_xticks(ticks, [f"1/{round(1 / t)}" if t < 0.25 else f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel(
        f"Rate ratio, treatment vs control (median and {100 * prob:.0f}% HDI; < 1 = fewer)"
    )
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


#: Headline parameters drawn in the appendix trace and rank plots, when present.
HEADLINE_PARAMETERS = ("effect_overall", "crime_sd", "person_sd")


def headline_draws(posterior, names: Sequence[str] = HEADLINE_PARAMETERS) -> dict:
    """Draws (chain, draw) of each scalar headline parameter present in ``posterior``.

    ``posterior`` is an xarray Dataset (``fit.idata.posterior``) or a mapping of arrays
    shaped (chain, draw, ...). Parameters with extra dimensions give one entry per
    element, labelled ``name[i]``.
    """
    out = {}
    for name in names:
        if name not in posterior:
            continue
        x = np.asarray(posterior[name])
        if x.ndim == 2:
            out[name] = x
        else:
            flat = x.reshape(x.shape[0], x.shape[1], -1)
            for i in range(flat.shape[2]):
                out[f"{name}[{i}]"] = flat[:, :, i]
    return out


def rank_counts(x: np.ndarray, bins: int = 20) -> np.ndarray:
    """Per chain, the histogram of the ranks of its draws among all draws.

    ``x`` has shape (chain, draw); returns counts of shape (chain, bins). With mixed
    chains every chain's histogram is close to uniform.
    """
    x = np.asarray(x, dtype=float)
    ranks = np.argsort(np.argsort(x, axis=None, kind="stable"), kind="stable")
    ranks = ranks.reshape(x.shape)
    edges = np.linspace(0, x.size, bins + 1)
    return np.stack([np.histogram(r, bins=edges)[0] for r in ranks])


def trace_rank_plot(draws: dict, path: str | Path | Sequence[str | Path] | None = None):
    """Trace plots (left) and rank plots (right) of parameters' draws, one row each.

    ``draws`` maps a label to an array (chain, draw), e.g. from :func:`headline_draws`.
    Returns the Figure; writes it to ``path`` when given.
    """
    if not draws:
        raise ValueError("no draws to plot")
    n = len(draws)
    fig, axes = subplots(n, 2, figsize=(9, 1.9 * n + 0.4), squeeze=False)
    colours = matplotlib.colormaps["tab10"].colors
    for (label, x), (ax_t, ax_r) in zip(draws.items(), axes, strict=True):
        x = np.asarray(x, dtype=float)
        for c in range(x.shape[0]):
            ax_t.plot(x[c], lw=0.6, alpha=0.8, color=colours[c % 10])
        ax_t.set_title(f"{label}: trace", loc="left", fontsize=9)
        ax_t.set_xlabel("draw", fontsize=8)
        counts = rank_counts(x)
        bins = counts.shape[1]
        step = counts.max() * 1.2
        for c, row in enumerate(counts):
            ax_r.stairs(
                row + c * step,
                np.arange(bins + 1),
                color=colours[c % 10],
                baseline=c * step,
                fill=True,
                alpha=0.6,
            )
            ax_r.axhline(c * step + x.shape[1] / bins, color="grey", ls="--", lw=0.7)
        ax_r.set_yticks([])
        ax_r.set_title(
            f"{label}: rank plot (one row per chain; flat = mixed)", loc="left", fontsize=9
        )
        ax_r.set_xlabel("rank bin", fontsize=8)
        for ax in (ax_t, ax_r):
            ax.tick_params(labelsize=7)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def claims_study_plot(table: pd.DataFrame, threshold: float = 0.95):
    """How often each claim appeared in a claims study (:mod:`fd_bayes.plan.claims`): per
    row of the table, the rate with no effect (grey) and with the estimated effects
    (blue), each with +-2 Monte Carlo errors; family-wise rows last, in bold."""
    rows = table.reset_index(drop=True)
    labels = [
        str(r.outcome)
        if r.estimand == "family"
        else f"{r.crime_type} {r.outcome}"
        if r.estimand == "crime_type"
        else f"overall {r.outcome}"
        for r in rows.itertuples()
    ]
    y = np.arange(len(rows))[::-1]
    fig, ax = subplots(figsize=(7.5, 0.32 * len(rows) + 1.2))
    for col, colour, name in (
        ("claim_rate_no_effect", "#7f8c8d", "no effect"),
        ("claim_rate_estimated_effect", "#2e86c1", "estimated effects"),
    ):
        rate, se = rows[col].to_numpy(float), rows[f"{col}_mc_se"].to_numpy(float)
        # +-2 Monte Carlo errors, kept inside [0, 1]
        err = np.vstack([np.minimum(2 * se, rate), np.minimum(2 * se, 1 - rate)])
        ax.errorbar(rate, y, xerr=err, fmt="o", color=colour, ms=4, lw=1, capsize=2, label=name)
    ax.axvline(0.05, color="#c0392b", ls=":", lw=1)
    ax.set_yticks(y, labels, fontsize=8)
    for tick, r in zip(ax.get_yticklabels(), rows.itertuples(), strict=True):
        if r.estimand == "family":
            tick.set_fontweight("bold")
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel(f"share of simulated trials with P(reduction) > {threshold:.2f}", fontsize=9)
    ax.legend(fontsize=8, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
