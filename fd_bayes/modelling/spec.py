"""Model specifications: the declarative TOML files of the model catalogue.

A spec is what an analyst pre-registers. It names the likelihood family, the terms
present and every prior; it contains no code. :func:`load_spec` reads one from the
catalogue (``models/`` in the repository, shipped inside the wheel as
``fd_bayes/models``) or from a user's path and validates it: unknown keys, unknown
prior names, unknown distributions and bad distribution parameters all raise
:class:`~fd_bayes.SpecError`. A fit records :attr:`ModelSpec.content_hash`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fd_bayes.errors import SpecError

FAMILIES = ("negbin", "poisson", "zinb", "hurdle_negbin", "negmult")
#: Families with a negative-binomial count part (a dispersion prior per crime type x outcome).
NB_FAMILIES = ("negbin", "zinb", "hurdle_negbin")
POOLING = ("pooled", "fixed", "none")
TREATMENT_TERMS = ("crime", "outcome", "age", "cell", "trial")
TOP_KEYS = {"name", "description", "family", "terms", "treatment", "priors"}
#: [terms] key -> the values it may take besides true and false.
TERM_KEYS: dict[str, tuple[str, ...]] = {"person_effect": ("correlated",), "baseline": ()}

#: Distribution name -> (parameter names, support) accepted in priors.
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "Normal": (("mu", "sigma"), "real"),
    "StudentT": (("nu", "mu", "sigma"), "real"),
    "HalfNormal": (("sigma",), "positive"),
    "HalfStudentT": (("nu", "sigma"), "positive"),
    "Exponential": (("lam",), "positive"),
    "Gamma": (("alpha", "beta"), "positive"),
    "ZeroSumNormal": (("sigma",), "zerosum"),
    "LKJCorr": (("eta",), "correlation"),
}
#: Parameters of a distribution that must be > 0.
POSITIVE_PARAMS = {"sigma", "nu", "lam", "alpha", "beta", "eta"}


def _prior_slots(family: str, terms: Mapping, treatment: Mapping) -> dict[str, str]:
    """Prior name -> required support, for a spec with these terms."""
    slots = {"effect_overall": "real", "intercept": "real"}
    if terms.get("baseline", True):
        slots["baseline_slope"] = "real"
    if family == "negmult":  # the person effect is a gamma frailty, marginalised
        slots["person_cv"] = "positive"
    elif terms.get("person_effect", True):
        slots["person_sd"] = "positive"
    if terms.get("person_effect", True) == "correlated":
        slots["person_corr"] = "correlation"
    if family in NB_FAMILIES:
        slots["inv_sqrt_dispersion"] = "positive"
    if family == "zinb":  # logit P(structural zero) = zi_intercept[c,o] + zi_treated * treated
        slots["zi_intercept"] = "real"
        slots["zi_treated"] = "real"
    elif family == "hurdle_negbin":  # shift of the logit P(zero) from the NB's own
        slots["hurdle_intercept"] = "real"
        slots["hurdle_treated"] = "real"
    for term in TREATMENT_TERMS:
        pooling = treatment.get(term, "none")
        if pooling == "pooled":
            slots[f"{term}_sd"] = "positive"
        elif pooling == "fixed":
            slots[f"{term}_effect"] = "zerosum"
    return slots


@dataclass(frozen=True)
class Prior:
    """One prior: a distribution name and its parameters."""

    dist: str
    params: dict[str, float]

    def describe(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{self.dist}({args})"


@dataclass(frozen=True)
class ModelSpec:
    """A validated model specification.

    Attributes
    ----------
    name : str
        The model's name (the file stem for catalogue models).
    description : str
        One line on what the model is.
    family : str
        Likelihood family: ``negbin``, ``poisson``, ``zinb`` (zero-inflated negative
        binomial), ``hurdle_negbin`` (hurdle negative binomial) or ``negmult`` (Poisson
        counts given a gamma person frailty, the frailty integrated out: a negative
        multinomial per person); see :mod:`fd_bayes.modelling.families`.
    terms : dict
        ``person_effect`` (true, false or ``"correlated"``: one effect per person and
        outcome, correlated across outcomes) and ``baseline`` (bool).
    treatment : dict
        Pooling of the treatment effect per term (``crime``, ``outcome``, ``age``,
        ``cell``, ``trial``): ``pooled`` (variance component), ``fixed`` (regularised
        zero-sum term) or ``none``. ``trial`` is the between-trial deviation of the log
        rate ratio in pooled multi-trial models (``negbin_pooled``).
    priors : dict[str, Prior]
    source : str
        The TOML text the spec was read from (saved with every fit).
    path : str or None
        Where the spec was read from, if from a file.
    """

    name: str
    description: str
    family: str
    terms: dict
    treatment: dict
    priors: dict[str, Prior]
    source: str = field(repr=False)
    path: str | None = None

    @property
    def content_hash(self) -> str:
        """SHA-256 of the spec's meaning (normalised content, not formatting)."""
        canon = {
            "name": self.name,
            "family": self.family,
            "terms": self.terms,
            # a term added later hashes only when used, so older specs keep their hash
            "treatment": {k: v for k, v in self.treatment.items() if k != "trial" or v != "none"},
            "priors": {k: [p.dist, p.params] for k, p in sorted(self.priors.items())},
        }
        return hashlib.sha256(json.dumps(canon, sort_keys=True).encode()).hexdigest()

    def to_dict(self) -> dict:
        """The spec's meaning as plain data (what :func:`spec_from_dict` reads back)."""
        return {
            "name": self.name,
            "description": self.description,
            "family": self.family,
            "terms": dict(self.terms),
            "treatment": dict(self.treatment),
            "priors": {k: {"dist": p.dist, **p.params} for k, p in self.priors.items()},
        }

    def with_priors(self, overrides: Mapping[str, Mapping] | None) -> ModelSpec:
        """A copy with some priors replaced, validated like the file's own.

        ``overrides`` maps a prior name to ``{"dist": ..., **params}``; this is the one
        place where a user's priors are merged over a spec's.
        """
        if not overrides:
            return self
        raw = self.to_dict()
        for key, value in overrides.items():
            if isinstance(value, Prior):
                value = {"dist": value.dist, **value.params}
            raw["priors"][key] = dict(value)
        spec = _from_dict(raw, source=self.source, where=f"priors override of {self.name}")
        return ModelSpec(**{**spec.__dict__, "path": self.path})

    def prior_table(self) -> list[tuple[str, str]]:
        """(prior name, description) pairs, in the order the spec declares them."""
        return [(k, p.describe()) for k, p in self.priors.items()]


def catalogue_dir() -> Path:
    """Where the shipped model specs live (inside the wheel, else the source tree)."""
    package = Path(__file__).resolve().parent.parent  # fd_bayes/
    for candidate in (package / "models", package.parent / "models"):
        if candidate.is_dir() and any(candidate.glob("*.toml")):
            return candidate
    raise SpecError("the model catalogue is missing from this installation")


def available_models() -> dict[str, str]:
    """Name -> description of every spec in the catalogue."""
    out = {}
    for path in sorted(catalogue_dir().glob("*.toml")):
        spec = load_spec(path)
        out[spec.name] = spec.description
    return out


def load_spec(model: str | Path | ModelSpec) -> ModelSpec:
    """Load a spec by catalogue name (``"negbin_hier"``) or by path to a TOML file."""
    if isinstance(model, ModelSpec):
        return model
    text_model = str(model)
    path = Path(text_model)
    if path.suffix != ".toml" and not path.exists():
        path = catalogue_dir() / f"{text_model}.toml"
        if not path.exists():
            names = ", ".join(sorted(p.stem for p in catalogue_dir().glob("*.toml")))
            raise SpecError(
                f"unknown model '{text_model}'; the catalogue has: {names} "
                "(or pass a path to your own .toml spec)"
            )
    if not path.exists():
        raise SpecError(f"model spec file not found: {path}")
    source = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML ({exc})") from None
    spec = _from_dict(raw, source=source, where=str(path))
    return ModelSpec(**{**spec.__dict__, "path": str(path)})


def spec_from_dict(raw: Mapping, source: str = "") -> ModelSpec:
    """Rebuild a spec from :meth:`ModelSpec.to_dict` output (e.g. from a saved fit)."""
    return _from_dict(dict(raw), source=source, where="saved spec")


def _from_dict(raw: dict, source: str, where: str) -> ModelSpec:
    raw = copy.deepcopy(raw)
    unknown = set(raw) - TOP_KEYS
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(TOP_KEYS)}")
    for key in ("name", "family", "priors"):
        if key not in raw:
            raise SpecError(f"{where}: missing required key '{key}'")
    family = raw["family"]
    if family not in FAMILIES:
        raise SpecError(f"{where}: unknown family '{family}'; available: {', '.join(FAMILIES)}")
    terms = {k: True for k in TERM_KEYS}
    for key, value in raw.get("terms", {}).items():
        if key not in TERM_KEYS:
            raise SpecError(
                f"{where}: unknown term '{key}' in [terms]; allowed: {sorted(TERM_KEYS)}"
            )
        if not isinstance(value, bool) and value not in TERM_KEYS[key]:
            allowed = " or ".join(["true", "false", *(f'"{v}"' for v in TERM_KEYS[key])])
            raise SpecError(f"{where}: [terms] {key} must be {allowed}, got {value!r}")
        terms[key] = value
    treatment = {k: "none" for k in TREATMENT_TERMS}
    for key, value in raw.get("treatment", {}).items():
        if key not in TREATMENT_TERMS:
            raise SpecError(
                f"{where}: unknown treatment term '{key}'; allowed: {', '.join(TREATMENT_TERMS)}"
            )
        if value not in POOLING:
            raise SpecError(
                f"{where}: treatment term '{key}' must be one of {POOLING}, got {value!r}"
            )
        treatment[key] = value
    if family == "negmult" and terms["person_effect"] is not True:
        raise SpecError(
            f"{where}: family 'negmult' is defined by its person frailty: [terms] "
            "person_effect must be true"
        )
    slots = _prior_slots(family, terms, treatment)
    priors: dict[str, Prior] = {}
    given = raw["priors"]
    for key in given:
        if key not in slots:
            raise SpecError(
                f"{where}: unknown prior '{key}' for this model; its priors are: {', '.join(slots)}"
            )
    for key, _support in slots.items():
        if key not in given:
            raise SpecError(f"{where}: missing prior '{key}' (needed by the terms present)")
    for key in given:  # keep the order the spec declares
        priors[key] = _prior(key, given[key], slots[key], where)
    return ModelSpec(
        name=str(raw["name"]),
        description=str(raw.get("description", "")),
        family=family,
        terms=terms,
        treatment=treatment,
        priors=priors,
        source=source,
    )


def _prior(key: str, value, support: str, where: str) -> Prior:
    if not isinstance(value, Mapping) or "dist" not in value:
        raise SpecError(f"{where}: prior '{key}' must be a table with a 'dist' key")
    dist = value["dist"]
    if dist not in DISTRIBUTIONS:
        raise SpecError(
            f"{where}: prior '{key}': unknown distribution '{dist}'; available: "
            f"{', '.join(DISTRIBUTIONS)}"
        )
    names, dist_support = DISTRIBUTIONS[dist]
    if dist_support != support:
        ok = [d for d, (_, s) in DISTRIBUTIONS.items() if s == support]
        raise SpecError(
            f"{where}: prior '{key}' needs a {support} distribution ({', '.join(ok)}), got {dist}"
        )
    params = {k: v for k, v in value.items() if k != "dist"}
    if set(params) != set(names):
        raise SpecError(
            f"{where}: prior '{key}' ({dist}) takes parameters {list(names)}, got {sorted(params)}"
        )
    out = {}
    for name in names:
        v = params[name]
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise SpecError(f"{where}: prior '{key}' parameter {name} must be a number")
        if name in POSITIVE_PARAMS and v <= 0:
            raise SpecError(f"{where}: prior '{key}' parameter {name} must be > 0, got {v}")
        out[name] = float(v)
    return Prior(dist=dist, params=out)
