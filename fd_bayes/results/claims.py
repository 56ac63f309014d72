"""Claims stated before the data: decision rules from a small TOML file.

A pre-registration names the claims a trial will make, for example "P(a reduction in knife
offending) of at least 0.95". Written down before the data are seen, in a file such as::

    # claims.toml
    [[claim]]
    name = "knife offending"
    outcome = "offending"
    crime_type = "knife"
    probability = 0.95          # claim when P(reduction) >= 0.95

    [[claim]]
    name = "a large overall reduction"
    outcome = "offending"
    reduction = 0.25            # a reduction of at least 25%: P(RR < 0.75)
    probability = 0.9

the report leads with exactly these claims, each met or not met, marks everything else
as exploratory, and records the file's SHA-256 (:func:`load_claims`,
:func:`evaluate_claims`). Each claim's probability is a share of the same g-computed
draws as the effects table (:meth:`fd_bayes.Fit.effect_draws`). A claim on an estimand
the data barely informed (the effects table's ``informed``) is not assessed.

Keys of a claim: ``outcome`` (required), ``crime_type``, ``age_band`` (default "all"),
``level`` (default: ``cell`` with both, ``crime_type`` or ``age_band`` with one,
``overall`` with neither; ``harm`` must be given), ``reduction`` (default 0: any
reduction), ``probability`` (default 0.95) and ``name``.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fd_bayes.constants import ALL
from fd_bayes.errors import SettingsError

CLAIM_KEYS = ("name", "outcome", "level", "crime_type", "age_band", "reduction", "probability")
LEVELS = ("overall", "crime_type", "age_band", "cell", "harm")
CLAIM_COLUMNS = [
    "name",
    "outcome",
    "level",
    "crime_type",
    "age_band",
    "reduction",
    "probability",
    "posterior_probability",
    "informed",
    "met",
    "statement",
]


@dataclass(frozen=True)
class Claim:
    """One pre-registered claim: P(RR < 1 - ``reduction``) >= ``probability``."""

    name: str
    outcome: str
    level: str = "overall"
    crime_type: str = ALL
    age_band: str = ALL
    reduction: float = 0.0
    probability: float = 0.95

    @property
    def wording(self) -> str:
        """What the claim says, e.g. "P(knife offending reduced by at least 25%) >= 95%"."""
        what = self.name or f"{self.crime_type} {self.outcome}"
        size = "reduced" if self.reduction == 0 else f"reduced by at least {self.reduction:.0%}"
        return f"P({what} {size}) >= {self.probability:.0%}"


@dataclass(frozen=True)
class Claims:
    """The claims of one file, with where it was read and its SHA-256."""

    claims: tuple[Claim, ...]
    source: str
    sha256: str


def _claim(raw: dict, i: int, path: str) -> Claim:
    where = f"{path}, claim {i + 1}"
    if not isinstance(raw, dict):
        raise SettingsError(f"{where}: a claim is a table of keys ([[claim]])")
    unknown = sorted(set(raw) - set(CLAIM_KEYS))
    if unknown:
        raise SettingsError(f"{where}: unknown key(s) {unknown}; a claim takes {list(CLAIM_KEYS)}")
    if "outcome" not in raw:
        raise SettingsError(f'{where}: a claim needs an outcome (e.g. outcome = "offending")')
    crime, band = str(raw.get("crime_type", ALL)), str(raw.get("age_band", ALL))
    default = {
        (False, False): "overall",
        (True, False): "crime_type",
        (False, True): "age_band",
        (True, True): "cell",
    }[(crime != ALL, band != ALL)]
    level = str(raw.get("level", default))
    if level not in LEVELS:
        raise SettingsError(f"{where}: level must be one of {list(LEVELS)}, got {level!r}")
    reduction, probability = raw.get("reduction", 0.0), raw.get("probability", 0.95)
    for key, value, lo, hi in (("reduction", reduction, 0, 1), ("probability", probability, 0, 1)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value < hi:
            raise SettingsError(f"{where}: {key} must be a number in [{lo}, {hi}), got {value!r}")
    if probability <= 0.5:
        raise SettingsError(f"{where}: probability must be above 0.5, got {probability!r}")
    return Claim(
        name=str(raw.get("name", "")),
        outcome=str(raw["outcome"]),
        level=level,
        crime_type=crime,
        age_band=band,
        reduction=float(reduction),
        probability=float(probability),
    )


def load_claims(path: str | Path) -> Claims:
    """Read the claims of a TOML file (see the module's docstring); errors name the claim."""
    path = Path(path)
    if not path.is_file():
        raise SettingsError(f"no claims file at {path}")
    data = path.read_bytes()
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}") from None
    unknown = sorted(set(parsed) - {"claim"})
    if unknown:
        raise SettingsError(f"{path}: unknown table(s) {unknown}; write each claim as [[claim]]")
    raw = parsed.get("claim", [])
    if not isinstance(raw, list) or not raw:
        raise SettingsError(f"{path} states no claim; write each claim as [[claim]]")
    claims = tuple(_claim(r, i, str(path)) for i, r in enumerate(raw))
    return Claims(claims, str(path), hashlib.sha256(data).hexdigest())


def _pct(p: float) -> str:
    if p > 0.99:
        return "more than 99%"
    if p < 0.01:
        return "less than 1%"
    return f"{p:.0%}"


@dataclass(frozen=True)
class Assessed:
    """Claims and their assessment against one fit (:func:`assess`)."""

    claims: Claims
    table: pd.DataFrame


def assess(fit, claims: str | Path | Claims, effects: pd.DataFrame | None = None) -> Assessed:
    """:func:`evaluate_claims` of ``claims`` (a :class:`Claims` or the path of its file)."""
    if not isinstance(claims, Claims):
        claims = load_claims(claims)
    return Assessed(claims, evaluate_claims(fit, claims, effects))


def evaluate_claims(fit, claims: Claims, effects: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each pre-registered claim against the posterior of ``fit``.

    Returns one row per claim: its labels, ``posterior_probability`` (the share of draws
    with RR < 1 - reduction), ``informed`` (of the estimand's effects row), ``met``
    (informed and the probability reached) and ``statement`` (in words). ``effects``:
    the fit's effects table, where the caller has it. An estimand the fit does not have
    raises a :class:`~fd_bayes.errors.DataError` that lists those it has.
    """
    if effects is None:
        effects = fit.effects()
    rows = []
    for c in claims.claims:
        rr = fit.effect_draws(c.outcome, c.level, c.crime_type, c.age_band).ravel()
        p = float((rr < 1.0 - c.reduction).mean())
        hit = effects[
            (effects["level"] == c.level)
            & (effects["outcome"] == c.outcome)
            & (effects["crime_type"] == c.crime_type)
            & (effects["age_band"] == c.age_band)
            & (effects["trial"] == ALL)
        ]
        informed = bool(hit["informed"].iloc[0]) if len(hit) else True
        met = informed and p >= c.probability
        if not informed:
            verdict = "not assessed: the data barely informed this estimate"
        else:
            verdict = "met" if met else "not met"
        rows.append(
            {
                "name": c.name,
                "outcome": c.outcome,
                "level": c.level,
                "crime_type": c.crime_type,
                "age_band": c.age_band,
                "reduction": c.reduction,
                "probability": c.probability,
                "posterior_probability": p,
                "informed": informed,
                "met": met,
                "statement": f"{c.wording}: posterior probability {_pct(p)}, {verdict}",
            }
        )
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


__all__ = [
    "CLAIM_COLUMNS",
    "Assessed",
    "Claim",
    "Claims",
    "assess",
    "evaluate_claims",
    "load_claims",
]
