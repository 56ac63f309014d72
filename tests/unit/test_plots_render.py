"""How figures become files: laid out once, the same bytes every time, the same picture
as matplotlib's own ``bbox_inches="tight"``."""

from __future__ import annotations

import io

import numpy as np

from fd_bayes.plots import render_figure, subplots


def _figure(layout=None):
    fig, axes = subplots(1, 2, figsize=(6, 2.5), layout=layout)
    rng = np.random.default_rng(0)
    for ax in axes:
        ax.hist(rng.normal(size=500), bins=20, histtype="stepfilled", alpha=0.5)
        ax.set_title("a title above the panel")
        ax.set_xlabel("a label")
    if layout is None:
        fig.tight_layout()
    return fig


def test_rendering_twice_gives_identical_bytes():
    fig = _figure()
    assert render_figure(fig) == render_figure(fig)
    assert render_figure(_figure())["svg"] == render_figure(_figure())["svg"]


def test_the_picture_is_matplotlibs_tight_one():
    for layout in (None, "constrained"):
        fig = _figure(layout)
        ours = render_figure(fig, ("png",))["png"]
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=150, bbox_inches="tight")
        assert ours == buf.getvalue(), layout


def test_the_figure_keeps_its_layout_engine_and_dpi():
    fig = _figure("constrained")
    engine, dpi = fig.get_layout_engine(), fig.dpi
    render_figure(fig)
    assert fig.get_layout_engine() is engine and fig.dpi == dpi
