"""The table of :func:`compare`: every method on every cell of a trial, one tidy row each."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from fd_bayes.constants import ALL, HDI_PROB
from fd_bayes.data import Trial
from fd_bayes.errors import SettingsError
from fd_bayes.frequentist.cells import Cell, glm_estimate, pool_cells, trial_cells
from fd_bayes.frequentist.statistics import (
    Estimate,
    exact_rate_test,
    hedges_g,
    holm,
    join_notes,
    mean_difference,
    mh_log_rate_ratio,
    permutation_p,
    rank_biserial,
    risk_ratio_fisher,
    run_quietly,
    stratified_allocations,
)

_NAN = float("nan")

#: Default number of re-randomisations for the ``randomisation`` method.
DEFAULT_N_PERMUTATIONS: int = 10_000

#: Every method :func:`compare` knows, in the order rows appear.
METHODS: tuple[str, ...] = (
    "negbin_glm",
    "poisson_glm",
    "rate_test",
    "mann_whitney",
    "welch_t",
    "hedges_g",
    "fisher_any",
    "randomisation",
)

#: Columns of the table :func:`compare` returns.
COLUMNS: tuple[str, ...] = (
    "method",
    "measure",
    "outcome",
    "crime_type",
    "age_band",
    "estimate",
    "lower",
    "upper",
    "p_value",
    "p_holm",
    "n_treatment",
    "n_control",
    "mc_se",
    "reason",
)


def _simple_rows(cell: Cell, method: str, level: float) -> list[tuple[str, Estimate]]:
    t, c = cell.treated, ~cell.treated
    if method == "rate_test":
        est = exact_rate_test(
            cell.y[t].sum(),
            cell.exposure_years[t].sum(),
            cell.y[c].sum(),
            cell.exposure_years[c].sum(),
            level,
        )
        return [("rate_ratio", est)]
    if method == "mann_whitney":
        rate = cell.y / cell.exposure_years
        r = rank_biserial(rate[t], rate[c])
        if np.all(rate == rate[0]):
            return [("rank_biserial", Estimate(r, reason="all follow-up rates equal: no test"))]
        notes: list[str] = []
        res = run_quietly(
            lambda: stats.mannwhitneyu(rate[t], rate[c], alternative="two-sided"), notes
        )
        notes.insert(0, "no interval for the rank-biserial correlation")
        return [("rank_biserial", Estimate(r, p_value=float(res.pvalue), reason=join_notes(notes)))]
    if method == "welch_t":
        y1, y0 = cell.y[t], cell.y[c]
        diff = float(y1.mean() - y0.mean())
        if y1.size < 2 or y0.size < 2:
            return [("difference", Estimate(diff, reason="fewer than two people in an arm"))]
        if y1.var(ddof=1) + y0.var(ddof=1) == 0:
            return [("difference", Estimate(diff, reason="no variation in either arm: no test"))]
        notes = []
        res = run_quietly(lambda: stats.ttest_ind(y1, y0, equal_var=False), notes)
        ci = res.confidence_interval(confidence_level=level)
        est = Estimate(diff, float(ci.low), float(ci.high), float(res.pvalue), join_notes(notes))
        return [("difference", est)]
    if method == "hedges_g":
        g, lo, hi, why = hedges_g(cell.y[t], cell.y[c], level)
        return [("hedges_g", Estimate(g, lo, hi, reason=why or "p-value: see welch_t"))]
    if method == "fisher_any":
        anyev = cell.y > 0
        est = risk_ratio_fisher(
            int(anyev[t].sum()), int(t.sum()), int(anyev[c].sum()), int(c.sum()), level
        )
        return [("risk_ratio", est)]
    raise AssertionError(method)  # pragma: no cover


def _randomisation_rows(cell: Cell, alloc: np.ndarray) -> list[tuple[str, Estimate]]:
    """Both randomisation statistics; ``alloc`` columns are indexed by ``cell.person``."""
    same = cell.person.size == alloc.shape[1] and (cell.person == np.arange(alloc.shape[1])).all()
    a = alloc if same else alloc[:, cell.person]
    n_perm = a.shape[0]
    why_no_ci = f"no interval; p from {n_perm} stratified re-randomisations"
    if cell.y.sum() == 0:
        none = Estimate(reason="no events in either arm: statistic undefined")
        return [("rate_ratio", none), ("difference", none)]
    out = []
    obs = mh_log_rate_ratio(cell.treated[None, :], cell.y, cell.exposure_years, cell.strata)[0]
    perm = mh_log_rate_ratio(a, cell.y, cell.exposure_years, cell.strata)
    p, se = permutation_p(obs, perm)
    if np.isposinf(obs):
        est, extra = _NAN, "no control events: rate ratio infinite"
    else:
        est, extra = float(np.exp(obs)), ""
    rr = Estimate(est, p_value=p, mc_se=se, reason=join_notes(extra, "Mantel-Haenszel", why_no_ci))
    out.append(("rate_ratio", rr))
    obs_d = mean_difference(cell.treated[None, :], cell.y)[0]
    p, se = permutation_p(obs_d, mean_difference(a, cell.y))
    out.append(("difference", Estimate(float(obs_d), p_value=p, mc_se=se, reason=why_no_ci)))
    return out


def _check_args(methods, n_permutations, level) -> tuple[str, ...]:
    if methods is None:
        chosen = METHODS
    else:
        chosen = (methods,) if isinstance(methods, str) else tuple(methods)
        unknown = [m for m in chosen if m not in METHODS]
        if unknown:
            raise SettingsError(f"unknown method(s) {unknown}; choose from {list(METHODS)}")
    if "randomisation" in chosen and (int(n_permutations) != n_permutations or n_permutations < 1):
        raise SettingsError(f"n_permutations must be a positive integer, got {n_permutations}")
    if not 0 < level < 1:
        raise SettingsError(f"level must be between 0 and 1, got {level}")
    return tuple(m for m in METHODS if m in chosen)


def _band_subsets(trial: Trial) -> list[tuple[str, np.ndarray | None]]:
    """The age-band subsets, each with a mask over people (None: everyone): the pooled
    one ("all", bands as covariate/strata) and each band, or the one band."""
    bands = trial.age_bands
    band_of_person = trial.data.groupby(trial.person_index())["age_band"].first()
    subsets: list[tuple[str, np.ndarray | None]] = []
    if len(bands) > 1:
        subsets.append((ALL, None))
        subsets += [(b, band_of_person.astype(str).to_numpy() == b) for b in bands]
    else:
        subsets.append((str(bands[0]), None))
    return subsets


def _allocations(
    trial: Trial, cells: dict[tuple[str, str], Cell], n_permutations: int, seed: int | None
) -> np.ndarray:
    """The re-randomisations (rows; columns by person), drawn once for every cell."""
    n_people = trial.n_people
    strata = np.zeros(n_people, dtype=int)
    treated = np.zeros(n_people, dtype=bool)
    for cell in cells.values():  # every person appears in some cell
        strata[cell.person] = cell.strata
        treated[cell.person] = cell.treated
    return stratified_allocations(
        strata, treated, n_permutations, np.random.default_rng(seed)
    ).astype(float)  # once, for the matrix products of every cell


def compare(
    trial: Trial,
    methods: str | Sequence[str] | None = None,
    n_permutations: int = DEFAULT_N_PERMUTATIONS,
    seed: int | None = None,
    *,
    level: float = HDI_PROB,
) -> pd.DataFrame:
    """Classical analyses of a trial, one tidy row per method x measure x cell.

    Parameters
    ----------
    trial : Trial
    methods : str or sequence of str, optional
        Subset of :data:`METHODS` (default: all).
    n_permutations : int
        Re-randomisations for the ``randomisation`` method.
    seed : int, optional
        Seed of the re-randomisations (the only random part).
    level : float
        Confidence level of every interval (default :data:`fd_bayes.HDI_PROB`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: ``method``, ``measure`` (rate_ratio, risk_ratio,
        difference, hedges_g, rank_biserial), ``outcome``, ``crime_type``
        (``overall`` for the pooled GLM rows), ``age_band`` (``all`` where age bands
        are pooled with the band as a covariate/stratum; a single band keeps its name),
        ``estimate``, ``lower``, ``upper``, ``p_value``, ``p_holm`` (Holm-adjusted
        across crime types within method, measure, outcome and age band; the
        ``overall`` rows are their own family), ``n_treatment``, ``n_control``,
        ``mc_se`` (Monte Carlo SE of randomisation p-values) and ``reason`` (why a
        value is NaN, and notes such as caught warnings).

    Examples
    --------
    >>> import fd_bayes as fdb
    >>> from fd_bayes import frequentist
    >>> table = frequentist.compare(fdb.example_trial(), methods="rate_test")
    >>> sorted(table["age_band"].unique())
    ['11-17', '18-25', 'all']
    """
    chosen = _check_args(methods, n_permutations, level)
    cells = trial_cells(trial)
    subsets = _band_subsets(trial)
    alloc = None
    if "randomisation" in chosen:
        alloc = _allocations(trial, cells, int(n_permutations), seed)

    records: list[tuple] = []

    def add(method, measure, outcome, crime, band, cell, est: Estimate) -> None:
        records.append(
            (
                method,
                measure,
                outcome,
                crime,
                band,
                est.estimate,
                est.lower,
                est.upper,
                est.p_value,
                cell.n_treatment,
                cell.n_control,
                est.mc_se,
                est.reason,
            )
        )

    for method in chosen:
        for band, person_mask in subsets:
            for (outcome, crime), full in cells.items():
                cell = full if person_mask is None else full.subset(person_mask[full.person])
                if method in ("negbin_glm", "poisson_glm"):
                    est = glm_estimate(cell, method, level, overall=False)
                    add(method, "rate_ratio", outcome, crime, band, cell, est)
                elif method == "randomisation":
                    for measure, est in _randomisation_rows(cell, alloc):
                        add(method, measure, outcome, crime, band, cell, est)
                else:
                    for measure, est in _simple_rows(cell, method, level):
                        add(method, measure, outcome, crime, band, cell, est)
            if method in ("negbin_glm", "poisson_glm"):
                for outcome in trial.outcomes:
                    parts = [cl for (o, _), cl in cells.items() if o == outcome]
                    if len(parts) < 2:
                        continue
                    pooled = pool_cells(parts)
                    if person_mask is not None:
                        pooled = pooled.subset(person_mask[pooled.person])
                    est = glm_estimate(pooled, method, level, overall=True)
                    add(method, "rate_ratio", outcome, ALL, band, pooled, est)

    columns = [c for c in COLUMNS if c != "p_holm"]
    table = pd.DataFrame.from_records(records, columns=columns)
    family = ["method", "measure", "outcome", "age_band", table["crime_type"] == ALL]
    table["p_holm"] = table.groupby(family, sort=False)["p_value"].transform(
        lambda p: pd.Series(holm(p.to_numpy()), index=p.index)
    )
    return table[list(COLUMNS)]
