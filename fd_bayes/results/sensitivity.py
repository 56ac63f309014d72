"""Prior sensitivity: the same trial fitted under several priors, effects side by side.

:func:`sensitivity` fits a trial once per prior (the model's own, a sceptical spec such
as ``negbin_sceptical``, or overrides of single priors), with the same seed for every
fit, and returns a :class:`Sensitivity`: the effects of every fit in one long table,
the estimates whose probability of a reduction crosses a decision threshold (0.90 or
0.95) between priors, the fits themselves and a short plain-language summary.

The table and the flags are pure functions of effects tables
(:func:`sensitivity_table`, :func:`crossing_flags`), so they are tested without MCMC
and can be built from fits that already exist (:meth:`Sensitivity.from_fits`).

A threshold is *reached* when P(reduction) >= threshold: 0.95 itself counts as reaching
0.95, as on the verbal probability scale, where "extremely likely" starts at 95%.
An estimate is flagged at a threshold when some priors reach it and others do not.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fd_bayes.constants import DEFAULT_MODEL, HDI_PROB, SENSITIVITY_THRESHOLDS
from fd_bayes.errors import FdBayesWarning, SettingsError
from fd_bayes.inference import SamplerSettings, resolve_seed, resolve_settings
from fd_bayes.modelling import ModelSpec, catalogue_dir, load_spec
from fd_bayes.results.api import fit
from fd_bayes.results.wording import estimate_words

#: Columns that identify an estimate (one row of the effects table).
KEYS = ["level", "outcome", "crime_type", "age_band"]
#: Further key columns, used when the effects tables have them (``trial`` in pooled fits).
OPTIONAL_KEYS = ("trial",)
#: Statistics of each estimate carried into the sensitivity table.
STATS = ["rr_median", "rr_lower", "rr_upper", "p_reduction"]
#: Columns of :attr:`Sensitivity.table`, in order.
TABLE_COLUMNS = [*KEYS, "prior", *STATS]
#: Columns of :attr:`Sensitivity.flags`, in order.
FLAG_COLUMNS = [
    *KEYS,
    "threshold",
    "p_min",
    "p_max",
    "prior_min",
    "prior_max",
    "priors_below",
    "priors_reaching",
]
#: The keywords of :func:`fd_bayes.fit` that make its SamplerSettings (its fields, so the
#: two cannot drift apart: ``adapt`` was missing here when it was added to the settings).
SAMPLER_KEYWORDS = tuple(f.name for f in dataclasses.fields(SamplerSettings))
#: Levels the summary text speaks about one by one (cells are counted).
SUMMARY_LEVELS = ("overall", "harm", "crime_type", "age_band")


# -- pure functions on effects tables ---------------------------------------------------
def key_columns(table: pd.DataFrame) -> list[str]:
    """The columns that identify an estimate in ``table``: :data:`KEYS`, plus ``trial``
    where it labels more than the pooled ``"all"`` (multi-trial fits)."""
    extra = [
        k for k in OPTIONAL_KEYS if k in table.columns and (table[k].astype(str) != "all").any()
    ]
    return [*KEYS, *extra]


def _check_names(names: Sequence[str]) -> None:
    if not names:
        raise SettingsError("a sensitivity analysis needs at least one effects table")
    for name in names:
        if not isinstance(name, str) or not name:
            raise SettingsError(f"prior names must be non-empty strings, got {name!r}")
    dupes = sorted({n for n in names if list(names).count(n) > 1})
    if dupes:
        raise SettingsError(f"prior names must be unique; repeated: {dupes}")


def sensitivity_table(effects: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The effects of several fits in one long table.

    Parameters
    ----------
    effects : mapping of prior name -> effects table
        Tables of :meth:`fd_bayes.Fit.effects` (at least the columns ``level``,
        ``outcome``, ``crime_type``, ``age_band``, ``rr_median``, ``rr_lower``,
        ``rr_upper``, ``p_reduction``), all with the same estimates.

    Returns
    -------
    pandas.DataFrame
        Columns ``level``, ``outcome``, ``crime_type``, ``age_band`` (and ``trial`` when
        the tables label several trials), ``prior``, ``rr_median``, ``rr_lower``, ``rr_upper``,
        ``p_reduction``: one row per estimate and prior, in the first table's order of
        estimates and the mapping's order of priors.

    Raises
    ------
    SettingsError
        When a table lacks a column, repeats an estimate, or has other estimates than
        the first table.
    """
    names = list(effects)
    _check_names(names)
    first_keys = None
    cols = key_columns(effects[names[0]])
    parts = []
    for name in names:
        e = effects[name]
        missing = [c for c in (*cols, *STATS) if c not in e.columns]
        if missing:
            raise SettingsError(f"effects table of prior '{name}' lacks column(s) {missing}")
        keys = e[cols].astype(str)
        dup = keys.duplicated()
        if dup.any():
            row = ", ".join(keys[dup].iloc[0])
            raise SettingsError(f"effects table of prior '{name}' repeats the estimate ({row})")
        key_index = pd.MultiIndex.from_frame(keys)
        if first_keys is None:
            first_keys, first_name = key_index, name
        elif not key_index.sort_values().equals(first_keys.sort_values()):
            only = key_index.difference(first_keys).union(first_keys.difference(key_index))
            raise SettingsError(
                f"the effects tables of priors '{first_name}' and '{name}' have different "
                f"estimates, e.g. ({', '.join(only[0])}); fit the same trial with the same "
                "harm weights"
            )
        part = e[cols + STATS].copy()
        part[cols] = keys
        part.insert(len(cols), "prior", name)
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    order = {k: i for i, k in enumerate(first_keys)}
    table["_estimate"] = [order[k] for k in table[cols].itertuples(index=False, name=None)]
    table["_prior"] = table["prior"].map({n: i for i, n in enumerate(names)})
    table = table.sort_values(["_estimate", "_prior"], kind="stable")
    table = table.drop(columns=["_estimate", "_prior"]).reset_index(drop=True)
    return table[[*cols, "prior", *STATS]]


def wide_table(table: pd.DataFrame, stats: Sequence[str] = tuple(STATS)) -> pd.DataFrame:
    """The long table with the priors side by side: one row per estimate.

    Columns ``level``, ``outcome``, ``crime_type``, ``age_band``, then
    ``<stat>_<prior>`` for each statistic in ``stats`` and each prior (e.g.
    ``p_reduction_default``, ``p_reduction_sceptical``), grouped by statistic.
    """
    cols = key_columns(table)
    unknown = [s for s in stats if s not in table.columns or s in cols or s == "prior"]
    if unknown:
        raise SettingsError(f"unknown statistic(s) {unknown}; choose from {STATS}")
    priors = list(pd.unique(table["prior"]))
    estimates = table[cols].drop_duplicates().reset_index(drop=True)
    indexed = table.set_index([*cols, "prior"])
    out = estimates.copy()
    key_rows = list(estimates.itertuples(index=False, name=None))
    for stat in stats:
        for prior in priors:
            out[f"{stat}_{prior}"] = [indexed.at[(*k, prior), stat] for k in key_rows]
    return out


def reaches(p: float | np.ndarray, threshold: float) -> bool | np.ndarray:
    """Whether P(reduction) reaches ``threshold``: ``p >= threshold`` (0.95 reaches 0.95).

    A tolerance of 1e-12 absorbs floating-point error in a share of draws.
    """
    return np.asarray(p) >= threshold - 1e-12


def crossing_flags(
    table: pd.DataFrame, thresholds: Sequence[float] = SENSITIVITY_THRESHOLDS
) -> pd.DataFrame:
    """Estimates whose P(reduction) is on different sides of a threshold under different priors.

    Parameters
    ----------
    table : DataFrame
        The long table of :func:`sensitivity_table`.
    thresholds : sequence of float
        Decision thresholds for P(reduction) (default 0.90 and 0.95). A prior *reaches*
        a threshold when P(reduction) >= threshold (:func:`reaches`).

    Returns
    -------
    pandas.DataFrame
        One row per flagged estimate and threshold: the key columns, ``threshold``,
        ``p_min`` and ``p_max`` (over the priors), ``prior_min`` and ``prior_max`` (the
        priors that give them; the first in order on a tie), ``priors_below`` and
        ``priors_reaching`` (comma-separated names). Empty (same columns) when no
        estimate crosses a threshold.
    """
    for t in thresholds:
        if not 0.0 < t < 1.0:
            raise SettingsError(f"thresholds must lie between 0 and 1, got {t}")
    cols = key_columns(table)
    rows = []
    for key, group in table.groupby(cols, sort=False):
        p = group["p_reduction"].to_numpy(dtype=float)
        names = group["prior"].to_numpy()
        for t in sorted(thresholds):
            up = reaches(p, t)
            if up.all() or not up.any():
                continue
            rows.append(
                {
                    **dict(zip(cols, key, strict=True)),
                    "threshold": float(t),
                    "p_min": float(p.min()),
                    "p_max": float(p.max()),
                    "prior_min": str(names[int(np.argmin(p))]),
                    "prior_max": str(names[int(np.argmax(p))]),
                    "priors_below": ", ".join(names[~up]),
                    "priors_reaching": ", ".join(names[up]),
                }
            )
    return pd.DataFrame(rows, columns=[*cols, *FLAG_COLUMNS[len(KEYS) :]])


# -- text ------------------------------------------------------------------------------
def p_text(p: float, thresholds: Sequence[float] = SENSITIVITY_THRESHOLDS) -> str:
    """P(reduction) for a sentence: 2 decimals, or 3 where 2 would print 0 or 1 or put
    it on the wrong side of a threshold (a value just below a threshold is truncated,
    never rounded up to it); ``> 0.999`` and ``< 0.001`` at the ends.

    Examples
    --------
    >>> p_text(0.9712), p_text(0.9496), p_text(0.99825), p_text(0.99975)
    ('0.97', '0.949', '0.998', '> 0.999')
    """
    p = float(p)
    if p > 0.999:
        return "> 0.999"
    if p < 0.001:
        return "< 0.001"
    for digits in (2, 3):
        shown = round(p, digits)
        same_side = all(bool(reaches(shown, t)) == bool(reaches(p, t)) for t in thresholds)
        if same_side and 0.0 < shown < 1.0:
            return f"{p:.{digits}f}"
    # three decimals still round across a threshold: truncate towards the true side
    return f"{math.floor(p * 1000) / 1000:.3f}"


def estimate_label(row) -> str:
    """An estimate in words: "knife offending", "offending aged 11-17", "the harm of
    offending"."""
    label = estimate_words(row)[2]
    if row["level"] == "overall":
        label = f"all {label}"
    if row["age_band"] != "all":
        label += f" aged {row['age_band']}"
    if row.get("trial", "all") != "all":
        label += f" in trial {row['trial']}"
    return label


def _thresholds_text(ts: Sequence[float]) -> str:
    parts = [f"{t:g}" for t in ts]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _stays(p: np.ndarray, thresholds: Sequence[float]) -> str:
    """Where P(reduction) stays, for priors that agree at every threshold."""
    ts = sorted(thresholds)
    reached = [t for t in ts if reaches(p, t).all()]
    missed = [t for t in ts if not reaches(p, t).any()]
    sides = []
    if reached:
        sides.append(f"at or above {reached[-1]:g}")
    if missed:
        sides.append(f"below {missed[0]:g}")
    return " and ".join(sides)


def summary_lines(
    table: pd.DataFrame,
    flags: pd.DataFrame,
    thresholds: Sequence[float] = SENSITIVITY_THRESHOLDS,
) -> list[str]:
    """The plain-language sentences of :meth:`Sensitivity.summary`, one per item.

    Per outcome: the overall estimate always; harm, crime-type and age-band estimates
    when they cross a threshold; flagged cells are counted.
    """
    priors = list(pd.unique(table["prior"]))
    cols = key_columns(table)
    crossed: dict[tuple, list[float]] = {}
    for _, f in flags.iterrows():
        crossed.setdefault(tuple(f[k] for k in cols), []).append(f["threshold"])
    groups = dict(list(table.groupby(cols, sort=False)))
    lines = []
    for outcome in pd.unique(table["outcome"]):
        for level in SUMMARY_LEVELS:
            for key, group in groups.items():
                row = dict(zip(cols, key, strict=True))
                if row["outcome"] != outcome or row["level"] != level:
                    continue
                if level != "overall" and key not in crossed:
                    continue
                p = group["p_reduction"].to_numpy(dtype=float)
                names = group["prior"].to_numpy()
                lo, hi = int(np.argmin(p)), int(np.argmax(p))
                text = (
                    f"P(reduction) for {estimate_label(row)} ranges from "
                    f"{p_text(p[lo], thresholds)} ({names[lo]}) to "
                    f"{p_text(p[hi], thresholds)} ({names[hi]})"
                )
                if key in crossed:
                    text += (
                        f": it crosses {_thresholds_text(sorted(crossed[key]))}, so the "
                        "conclusion depends on the prior."
                    )
                else:
                    text += f"; it stays {_stays(p, thresholds)} under every prior."
                lines.append(text)
    n_cells = flags.loc[flags["level"] == "cell", cols].drop_duplicates().shape[0]
    if n_cells:
        lines.append(
            f"{n_cells} cell estimate{'s' if n_cells > 1 else ''} (crime type x age band) "
            f"also cross{'' if n_cells > 1 else 'es'} a threshold; see the flags table."
        )
    if flags.empty:
        lines.append(
            f"No P(reduction) crosses {_thresholds_text(sorted(thresholds))} between the "
            f"{len(priors)} priors ({', '.join(priors)}): the conclusions at these "
            "thresholds do not depend on the prior."
        )
    return lines


# -- the result ------------------------------------------------------------------------
@dataclass
class Sensitivity:
    """The result of :func:`sensitivity`: a trial's effects under several priors.

    Attributes
    ----------
    table : pandas.DataFrame
        Long format, one row per estimate and prior: ``level``, ``outcome``,
        ``crime_type``, ``age_band``, ``prior``, ``rr_median``, ``rr_lower``,
        ``rr_upper``, ``p_reduction`` (see :func:`sensitivity_table`);
        :meth:`wide` puts the priors side by side.
    flags : pandas.DataFrame
        Estimates whose P(reduction) crosses a threshold between priors (see
        :func:`crossing_flags`); empty when the conclusions do not depend on the prior.
    fits : dict of str -> Fit
        The fits, by prior name (empty when built from effects tables only).
    thresholds : tuple of float
        The thresholds of ``flags``.
    prob : float
        Probability of the credible intervals ``rr_lower``/``rr_upper``.
    seed : int or None
        The seed every fit used.
    """

    table: pd.DataFrame
    flags: pd.DataFrame
    fits: dict = field(default_factory=dict)
    thresholds: tuple[float, ...] = SENSITIVITY_THRESHOLDS
    prob: float = HDI_PROB
    seed: int | None = None

    @classmethod
    def from_effects(
        cls,
        effects: Mapping[str, pd.DataFrame],
        thresholds: Sequence[float] = SENSITIVITY_THRESHOLDS,
        prob: float = HDI_PROB,
    ) -> Sensitivity:
        """Build the result from effects tables (prior name -> table), without fits."""
        table = sensitivity_table(effects)
        return cls(table, crossing_flags(table, thresholds), {}, tuple(thresholds), prob)

    @classmethod
    def from_fits(
        cls,
        fits: Mapping[str, object],
        thresholds: Sequence[float] = SENSITIVITY_THRESHOLDS,
        prob: float = HDI_PROB,
    ) -> Sensitivity:
        """Build the result from existing fits of the same trial (prior name -> Fit).

        Nothing is refitted: use it when the default fit already exists. The fits must
        be of the same data (their data hashes agree).
        """
        _check_names(list(fits))
        hashes = {name: f.info.get("data_hash") for name, f in fits.items()}
        if len(set(hashes.values())) > 1:
            raise SettingsError(
                f"the fits are of different data (data hashes {hashes}); a sensitivity "
                "analysis compares priors on the same trial"
            )
        effects = {name: f.effects(prob=prob) for name, f in fits.items()}
        out = cls.from_effects(effects, thresholds, prob)
        out.fits = dict(fits)
        seeds = {f.info.get("seed") for f in fits.values()}
        out.seed = seeds.pop() if len(seeds) == 1 else None
        return out

    @property
    def priors(self) -> list[str]:
        """The prior names, in order."""
        return list(pd.unique(self.table["prior"]))

    def wide(self, stats: Sequence[str] = tuple(STATS)) -> pd.DataFrame:
        """One row per estimate, columns ``<stat>_<prior>`` (see :func:`wide_table`)."""
        return wide_table(self.table, stats)

    def diagnostics(self) -> pd.DataFrame:
        """The sampler diagnostics of every fit, one row per prior, with ``problems``
        (plain-language statements of failed diagnostics, empty when all pass)."""
        rows = []
        for name, f in self.fits.items():
            d = f.diagnostics()
            rows.append(
                {
                    "prior": name,
                    "model": f.spec.name,
                    "spec_hash": f.spec.content_hash,
                    **{k: d.get(k) for k in ("max_rhat", "min_ess_bulk", "min_ess_tail")},
                    "divergences": d.get("divergences"),
                    "problems": " ".join(f.diagnostic_problems()),
                }
            )
        return pd.DataFrame(rows)

    def prior_differences(self) -> pd.DataFrame:
        """The priors that differ between the fits: one row per prior name, one column
        per alternative (e.g. ``Normal(mu=0, sigma=0.5)``); empty without fits."""
        if not self.fits:
            return pd.DataFrame()
        specs = {name: f.spec for name, f in self.fits.items()}
        names = list(dict.fromkeys(k for s in specs.values() for k in s.priors))
        rows = {}
        for prior in names:
            described = {
                alt: (s.priors[prior].describe() if prior in s.priors else "(none)")
                for alt, s in specs.items()
            }
            if len(set(described.values())) > 1:
                rows[prior] = described
        families = {alt: s.family for alt, s in specs.items()}
        if len(set(families.values())) > 1:
            rows = {"(likelihood family)": families, **rows}
        return pd.DataFrame.from_dict(rows, orient="index", columns=list(specs))

    def summary(self) -> str:
        """A short plain-language summary: the overall estimates' P(reduction) under
        each prior, every crime type, age band or harm estimate whose P(reduction)
        crosses a threshold, and failed diagnostics."""
        lines = [
            f"Prior sensitivity: {len(self.priors)} priors ({', '.join(self.priors)})"
            + (f", same data and seed ({self.seed})." if self.seed is not None else ".")
        ]
        lines += summary_lines(self.table, self.flags, self.thresholds)
        for name, f in self.fits.items():
            problems = f.diagnostic_problems()
            if problems:
                lines.append(
                    f"Warning: the sampler's diagnostics failed for prior '{name}'; do not "
                    "report its results yet."
                )
        return "\n".join(lines)

    def __repr__(self) -> str:
        n = len(self.table) // max(1, len(self.priors))
        return f"Sensitivity(priors={self.priors}, estimates={n}, flags={len(self.flags)})"


# -- fitting ---------------------------------------------------------------------------
def _default_alternatives(base: ModelSpec) -> list[str]:
    """The sceptical counterpart of a catalogue model: ``negbin_hier`` -> ``negbin_sceptical``."""
    stem = base.name.removesuffix("_hier")
    if stem != base.name and (catalogue_dir() / f"{stem}_sceptical.toml").exists():
        return [f"{stem}_sceptical"]
    raise SettingsError(
        f"no sceptical counterpart of model '{base.name}' in the catalogue; pass "
        "priors=[...] (catalogue names, spec paths or dicts of prior overrides)"
    )


def _resolve(base: ModelSpec, priors: Sequence, names: Sequence[str] | None):
    """(name, spec) pairs to fit: the base model first unless the list has it."""
    if isinstance(priors, str | Path | ModelSpec | Mapping):
        raise SettingsError(
            "priors must be a list of alternatives, e.g. priors=['negbin_sceptical'] or "
            "priors=[{'effect_overall': {'dist': 'Normal', 'mu': 0, 'sigma': 0.3}}]"
        )
    specs, kinds = [], []
    for alt in priors:
        if isinstance(alt, Mapping):
            specs.append(base.with_priors(alt))
            kinds.append("overrides")
        elif isinstance(alt, str | Path | ModelSpec):
            specs.append(load_spec(alt))
            kinds.append("spec")
        else:
            raise SettingsError(
                "each alternative prior is a catalogue name, a spec path, a ModelSpec or a "
                f"dict of prior overrides, got {type(alt).__name__}"
            )
    if names is not None:
        names = list(names)
        if len(names) != len(specs):
            raise SettingsError(
                f"names has {len(names)} entries for {len(specs)} alternative priors"
            )
    hashes = [s.content_hash for s in specs]
    for i, h in enumerate(hashes):
        if h in hashes[:i]:
            raise SettingsError(
                f"alternative {i + 1} has the same priors as alternative {hashes.index(h) + 1}"
            )
    out = []
    if base.content_hash not in hashes:
        out.append(("default", base))
    n_alt = 0
    for i, (spec, kind) in enumerate(zip(specs, kinds, strict=True)):
        if names is not None:
            name = str(names[i])
        elif spec.content_hash == base.content_hash:
            name = "default"
        elif kind == "spec" and "sceptical" in spec.name:
            name = "sceptical"
        elif kind == "spec":
            name = spec.name
        else:
            n_alt += 1
            name = f"alt{n_alt}"
        out.append((name, spec))
    taken: dict[str, int] = {}
    unique = []
    for name, spec in out:
        if names is None and name in taken:
            taken[name] += 1
            name = f"{name}_{taken[name]}"
        taken.setdefault(name, 1)
        unique.append((name, spec))
    _check_names([n for n, _ in unique])
    return unique


def _reissue(caught: list, prior: str, spec: ModelSpec) -> None:
    """Warn again, outside the fit, with the prior named in our own warnings.

    Ours point at the caller of :func:`sensitivity` (a fixed stack level: here, then
    :func:`sensitivity`, then the caller); others are issued again at their own file and
    line.
    """
    for w in caught:
        if issubclass(w.category, FdBayesWarning):
            warnings.warn(f"Prior '{prior}' ({spec.name}): {w.message}", w.category, stacklevel=3)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def sensitivity(
    trial,
    model: str | Path | ModelSpec = DEFAULT_MODEL,
    priors: Sequence | None = None,
    *,
    names: Sequence[str] | None = None,
    prob: float = HDI_PROB,
    thresholds: Sequence[float] = SENSITIVITY_THRESHOLDS,
    settings: SamplerSettings | None = None,
    **fit_kwargs,
) -> Sensitivity:
    """Fit a trial under several priors and compare the effects.

    Parameters
    ----------
    trial : Trial
    model : str, path or ModelSpec
        The model whose priors are varied; ``dict`` alternatives override its priors.
        It is fitted as ``"default"`` unless ``priors`` already lists it.
    priors : list, optional
        The alternatives: each a catalogue name (``"negbin_sceptical"``), a path to a
        spec, a :class:`~fd_bayes.ModelSpec`, or a dict of prior overrides as
        :func:`fd_bayes.fit` takes them (``{"effect_overall": {"dist": "Normal", "mu": 0,
        "sigma": 0.3}}``). Default: the model's sceptical counterpart in the catalogue
        (``negbin_hier`` -> ``negbin_sceptical``).
    names : list of str, optional
        Names of the alternatives in ``priors``. By default the model itself is
        ``"default"``, a sceptical catalogue spec ``"sceptical"``, another spec its
        name, and override dicts ``"alt1"``, ``"alt2"``, ...
    prob : float
        Probability of the credible intervals (default 0.95).
    thresholds : sequence of float
        P(reduction) thresholds for the flags (default 0.90 and 0.95).
    settings : SamplerSettings, optional
        The sampler settings of every fit, instead of the sampler keywords of
        ``fit_kwargs`` (giving both is a :class:`~fd_bayes.errors.SettingsError`).
    **fit_kwargs
        Passed to :func:`fd_bayes.fit` for every fit (``draws``, ``tune``, ``chains``,
        ``seed``, ``sampler``, ``target_accept``, ``progress``, ``cores``,
        ``mass_matrix``, ``adapt``, ``predictive``); the sampler keywords become one
        :class:`~fd_bayes.inference.SamplerSettings` that every fit gets. Every fit
        uses the same seed; when none is given one is drawn and recorded.

    Returns
    -------
    Sensitivity

    Warns
    -----
    DiagnosticsWarning, ModelNote
        Any warning of a fit is issued again after it, naming the prior.

    Examples
    --------
    >>> import fd_bayes as fdb
    >>> trial = fdb.example_trial()
    >>> sens = fdb.sensitivity(trial, priors=["negbin_sceptical"], seed=11)  # doctest: +SKIP
    >>> print(sens.summary())                                               # doctest: +SKIP
    """
    base = load_spec(model)
    alternatives = _resolve(base, _default_alternatives(base) if priors is None else priors, names)
    if len(alternatives) < 2:
        raise SettingsError("a sensitivity analysis needs at least two different priors")
    sampler_keywords = {k: fit_kwargs.pop(k) for k in SAMPLER_KEYWORDS if k in fit_kwargs}
    settings = resolve_settings(settings, **sampler_keywords)
    seed = resolve_seed(fit_kwargs.pop("seed", None))
    fits = {}
    for name, spec in alternatives:
        with warnings.catch_warnings(record=True) as caught:
            # our warnings are collected and issued again below, naming the prior; others
            # keep the caller's filters (an "error" filter still raises here)
            warnings.simplefilter("always", FdBayesWarning)
            fits[name] = fit(trial, model=spec, seed=seed, settings=settings, **fit_kwargs)
        _reissue(caught, name, spec)
    return Sensitivity.from_fits(fits, thresholds=thresholds, prob=prob)


__all__ = [
    "FLAG_COLUMNS",
    "KEYS",
    "OPTIONAL_KEYS",
    "SAMPLER_KEYWORDS",
    "STATS",
    "SUMMARY_LEVELS",
    "TABLE_COLUMNS",
    "Sensitivity",
    "crossing_flags",
    "estimate_label",
    "key_columns",
    "p_text",
    "reaches",
    "sensitivity",
    "sensitivity_table",
    "summary_lines",
    "wide_table",
]
