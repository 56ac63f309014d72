"""Prior sensitivity on the example trial: the sceptical prior pulls the rate ratios
towards 1, and the flags agree with the table. Two real fits (about a minute each on a
2-core machine)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import fd_bayes as fdb
from fd_bayes.constants import ESS_MIN, HDI_PROB
from fd_bayes.results.sensitivity import KEYS, reaches, sensitivity


@pytest.fixture(scope="module")
def sens():
    # any DiagnosticsWarning of either fit is an error here (pytest's filterwarnings)
    return sensitivity(
        fdb.example_trial(),
        priors=["negbin_hier", "negbin_sceptical"],
        draws=1000,
        tune=1000,
        chains=4,
        seed=11,
        progress=False,
    )


def _mc_tolerance(w, prior: str) -> np.ndarray:
    """Three Monte Carlo standard errors of log(rr_median), per row, for one fit.

    The posterior SD of log RR is read off the HDI (width / (2 z)); the MC standard error
    of a median is sqrt(pi / 2) * SD / sqrt(ESS), with ESS at the floor the fits passed
    (400; the actual ESS is higher, so this overstates the noise).
    """
    z = stats.norm.ppf(0.5 + HDI_PROB / 2)
    sd = (np.log(w[f"rr_upper_{prior}"]) - np.log(w[f"rr_lower_{prior}"])) / (2 * z)
    return np.sqrt(np.pi / 2) * sd / np.sqrt(ESS_MIN)


def test_both_fits_sample_cleanly(sens):
    d = sens.diagnostics()
    assert list(d["prior"]) == ["default", "sceptical"]
    assert list(d["model"]) == ["negbin_hier", "negbin_sceptical"]
    assert (d["problems"] == "").all() and (d["divergences"] == 0).all()
    assert {f.info["seed"] for f in sens.fits.values()} == {11}


def test_sceptical_prior_pulls_rate_ratios_towards_one(sens):
    w = sens.wide()
    shift = np.abs(np.log(w["rr_median_sceptical"])) - np.abs(np.log(w["rr_median_default"]))
    noise = np.sqrt(_mc_tolerance(w, "default") ** 2 + _mc_tolerance(w, "sceptical") ** 2)
    # The overall effect's prior is 2.5 times tighter around no effect: the overall and
    # harm-weighted ratios move towards 1 by far more than Monte Carlo noise.
    headline = w["level"].isin(["overall", "harm"]) & (w["age_band"] == "all")
    assert (shift[headline] < -3 * noise[headline]).all()
    # A crime type could in principle move away from 1 (the tighter crime_sd pools it
    # towards the overall effect, which may lie further from 1); none may do so by more
    # than Monte Carlo noise. On these data every crime type moves towards 1.
    crime = w["level"] == "crime_type"
    assert crime.sum() == 10
    assert (shift[crime] <= 3 * noise[crime]).all(), w.loc[crime, KEYS].assign(shift=shift)
    assert (shift[crime] < 0).all()
    # and P(reduction) falls with it
    assert (w.loc[crime, "p_reduction_sceptical"] < w.loc[crime, "p_reduction_default"]).all()


def test_flags_agree_with_the_table(sens):
    w = sens.wide()
    expected = set()
    for _, r in w.iterrows():
        p = np.array([r["p_reduction_default"], r["p_reduction_sceptical"]])
        for t in sens.thresholds:
            if reaches(p, t).any() and not reaches(p, t).all():
                expected.add((*(r[k] for k in KEYS), t))
    got = {(*(f[k] for k in KEYS), f["threshold"]) for _, f in sens.flags.iterrows()}
    assert got == expected
    table = sens.table.set_index([*KEYS, "prior"])["p_reduction"]
    for _, f in sens.flags.iterrows():
        key = tuple(f[k] for k in KEYS)
        assert f["p_min"] == table[(*key, f["prior_min"])] < f["threshold"]
        assert f["p_max"] == table[(*key, f["prior_max"])] >= f["threshold"]
    # every flagged crime type is named in the summary
    text = sens.summary()
    for _, f in sens.flags[sens.flags["level"] == "crime_type"].iterrows():
        assert f"for {f['crime_type']} {f['outcome']} ranges" in text
