"""The design of one trial: the canonical data as index arrays and labels.

:class:`Design` turns the canonical data into index arrays (the only person key it keeps
is an integer index) and round-trips through ``InferenceData.constant_data``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from fd_bayes.constants import DAYS_PER_YEAR
from fd_bayes.data import Published, Trial
from fd_bayes.data.trial import DEFAULT_NAME

SEP = " / "
#: The label of a single trial with individual data pooled with published trials, when
#: it has neither a trial label nor a name.
INDIVIDUAL_DATA = "individual data"


@dataclass
class Design:
    """Index arrays and labels for one trial (no person identifiers).

    Row-level arrays have length ``n_obs``; ``cells`` has one row per outcome x crime
    type x age band with the indices of its crime-type x outcome and age band.
    """

    cell_idx: np.ndarray
    co_idx: np.ndarray
    person_idx: np.ndarray
    x_pre: np.ndarray
    treated: np.ndarray
    log_exposure: np.ndarray
    post_count: np.ndarray
    cells: pd.DataFrame
    crime_outcomes: pd.DataFrame
    age_bands: list[str]
    outcomes: list[str]
    n_people: int
    notes: list[str] = field(default_factory=list)
    #: Trial labels; ``[""]`` for a single trial. With several trials every cell belongs
    #: to one trial (``cells["trial_idx"]``): intercepts are per trial x cell.
    trials: list[str] = field(default_factory=lambda: [""])
    #: Published trials that enter the model by their log rate ratios (one-stage IPD +
    #: aggregate data), or None.
    published: Published | None = None

    @property
    def multi_trial(self) -> bool:
        return len(self.trials) > 1

    @property
    def cell_trial_idx(self) -> np.ndarray:
        """The trial of each cell (all 0 for a single trial)."""
        if "trial_idx" in self.cells:
            return self.cells["trial_idx"].to_numpy().astype("int64")
        return np.zeros(len(self.cells), dtype="int64")

    def base_cells(self) -> tuple[np.ndarray, list[str]]:
        """Each cell's treatment cell (outcome x crime type x age band, over trials).

        Returns ``(index per cell, labels)``; with one trial the identity on ``cells``.
        """
        labels = (
            self.cells["outcome"].astype(str)
            + SEP
            + self.cells["crime_type"].astype(str)
            + SEP
            + self.cells["age_band"].astype(str)
        )
        codes, uniques = pd.factorize(labels)
        return codes.astype("int64"), [str(u) for u in uniques]

    @property
    def coords(self) -> dict[str, list]:
        out = {
            "obs": list(range(len(self.cell_idx))),
            "person": list(range(self.n_people)),
            "cell": list(self.cells["label"]),
            "crime_outcome": list(self.crime_outcomes["label"]),
            "age_band": list(self.age_bands),
            "outcome": list(self.outcomes),
        }
        if self.multi_trial or self.published is not None:
            out["trial"] = list(self.trials)
        if self.multi_trial:
            out["treatment_cell"] = self.base_cells()[1]
        if self.published is not None:
            out["published"] = list(self.published.labels)
        return out

    @property
    def n_trials(self) -> int:
        """Trials in the model: with individual data and published."""
        return len(self.trials) + (0 if self.published is None else len(self.published.labels))

    @classmethod
    def from_trial(cls, trial: Trial, published: Published | None = None) -> Design:
        d = trial.data
        outcome = d["outcome"].astype(str)
        crime = d["crime_type"].astype(str)
        age = d["age_band"].astype(str)
        trial_label = d["trial"].astype(str)
        trials = [str(x) for x in trial.trials]
        multi = len(trials) > 1
        co_key = outcome + SEP + crime
        cell_key = co_key + SEP + age
        if multi:
            # a cell is outcome x crime type x age band within one trial: intercepts (and
            # so control rates) are never shared between trials
            cell_key = cell_key + SEP + trial_label
        co_labels = list(pd.unique(co_key))
        cell_labels = list(pd.unique(cell_key))
        co_idx = pd.Categorical(co_key, categories=co_labels).codes.astype("int64")
        cell_idx = pd.Categorical(cell_key, categories=cell_labels).codes.astype("int64")
        # log1p(pre) centred within crime type x outcome: alpha is then the log rate of a
        # person with a typical baseline, and alpha and beta are nearly uncorrelated.
        # With several trials the centring is within trial too (record keeping differs).
        lp = np.log1p(d["pre_count"].to_numpy(float))
        centre_key = co_idx if not multi else co_key + SEP + trial_label
        x_pre = lp - pd.Series(lp).groupby(np.asarray(centre_key)).transform("mean").to_numpy()
        first = pd.DataFrame(
            {"cell": cell_idx, "co": co_idx, "o": outcome, "c": crime, "a": age, "t": trial_label}
        )
        first = first.drop_duplicates("cell").sort_values("cell")
        age_bands = list(trial.age_bands)
        outcomes = list(trial.outcomes)
        cells = pd.DataFrame(
            {
                "label": cell_labels,
                "outcome": first["o"].to_numpy(),
                "crime_type": first["c"].to_numpy(),
                "age_band": first["a"].to_numpy(),
                "co_idx": first["co"].to_numpy(),
                "age_idx": [age_bands.index(a) for a in first["a"]],
                "outcome_idx": [outcomes.index(o) for o in first["o"]],
            }
        )
        if multi:
            cells["trial"] = first["t"].to_numpy()
            cells["trial_idx"] = [trials.index(t) for t in first["t"]]
        co_first = cells.drop_duplicates("co_idx").sort_values("co_idx")
        crime_outcomes = pd.DataFrame(
            {
                "label": co_labels,
                "outcome": co_first["outcome"].to_numpy(),
                "crime_type": co_first["crime_type"].to_numpy(),
            }
        )
        if not multi:
            # one trial: unnamed, unless published trials need it told apart from them
            # (then its trial label, or the Trial's name)
            named = trial.name if trial.name != DEFAULT_NAME else ""
            label = trials[0] or named or INDIVIDUAL_DATA
            trials = [label] if published is not None else [""]
        if published is not None:
            published.check_against(trials, crime_outcomes)
        return cls(
            cell_idx=cell_idx,
            co_idx=co_idx,
            person_idx=trial.person_index(),
            x_pre=x_pre,
            treated=(d["arm"] == "treatment").to_numpy().astype("int64"),
            log_exposure=np.log(d["exposure_days"].to_numpy(float) / DAYS_PER_YEAR),
            post_count=d["post_count"].to_numpy().astype("int64"),
            cells=cells,
            crime_outcomes=crime_outcomes,
            age_bands=age_bands,
            outcomes=outcomes,
            n_people=trial.n_people,
            trials=trials,
            published=published,
        )

    # -- round trip through InferenceData.constant_data --------------------------------
    def to_dataset(self) -> xr.Dataset:
        """The design as an xarray Dataset (stored in ``idata.constant_data``)."""
        obs = {"obs": np.arange(len(self.cell_idx))}
        cell = {"cell": list(self.cells["label"])}
        co = {"crime_outcome": list(self.crime_outcomes["label"])}
        ds = xr.Dataset(
            {
                "cell_idx": ("obs", self.cell_idx),
                "co_idx": ("obs", self.co_idx),
                "person_idx": ("obs", self.person_idx),
                "x_pre": ("obs", self.x_pre),
                "treated": ("obs", self.treated),
                "log_exposure": ("obs", self.log_exposure),
                "post_count": ("obs", self.post_count),
                "cell_outcome": ("cell", self.cells["outcome"].astype(str).to_numpy()),
                "cell_crime_type": ("cell", self.cells["crime_type"].astype(str).to_numpy()),
                "cell_age_band": ("cell", self.cells["age_band"].astype(str).to_numpy()),
                "cell_co_idx": ("cell", self.cells["co_idx"].to_numpy().astype("int64")),
                "co_outcome": ("crime_outcome", self.crime_outcomes["outcome"].to_numpy()),
                "co_crime_type": ("crime_outcome", self.crime_outcomes["crime_type"].to_numpy()),
            },
            coords={**obs, **cell, **co, "age_band": self.age_bands, "outcome": self.outcomes},
            attrs={"n_people": int(self.n_people)},
        )
        if self.multi_trial or self.published is not None:
            ds = ds.assign_coords(trial=list(self.trials))
        if self.multi_trial:
            ds["cell_trial_idx"] = ("cell", self.cell_trial_idx)
        if self.published is not None:
            pub = self.published
            ds = ds.assign_coords(published=list(pub.labels))
            ds["published_yi"] = ("published", pub.yi)
            ds["published_sei"] = ("published", pub.sei)
            ds.attrs.update(published_outcome=pub.outcome, published_crime_type=pub.crime_type)
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> Design:
        age_bands = [str(a) for a in ds["age_band"].values]
        outcomes = [str(o) for o in ds["outcome"].values]
        cell_age = [str(a) for a in ds["cell_age_band"].values]
        cell_out = [str(o) for o in ds["cell_outcome"].values]
        cells = pd.DataFrame(
            {
                "label": [str(c) for c in ds["cell"].values],
                "outcome": cell_out,
                "crime_type": [str(c) for c in ds["cell_crime_type"].values],
                "age_band": cell_age,
                "co_idx": ds["cell_co_idx"].values.astype("int64"),
                "age_idx": [age_bands.index(a) for a in cell_age],
                "outcome_idx": [outcomes.index(o) for o in cell_out],
            }
        )
        crime_outcomes = pd.DataFrame(
            {
                "label": [str(c) for c in ds["crime_outcome"].values],
                "outcome": [str(o) for o in ds["co_outcome"].values],
                "crime_type": [str(c) for c in ds["co_crime_type"].values],
            }
        )
        trials = [str(t) for t in ds["trial"].values] if "trial" in ds.coords else [""]
        if "cell_trial_idx" in ds:
            cells["trial_idx"] = ds["cell_trial_idx"].values.astype("int64")
            cells["trial"] = [trials[i] for i in cells["trial_idx"]]
        published = None
        if "published_yi" in ds:
            published = Published(
                tuple(str(x) for x in ds["published"].values),
                ds["published_yi"].values,
                ds["published_sei"].values,
                str(ds.attrs["published_outcome"]),
                str(ds.attrs["published_crime_type"]),
            )
        return cls(
            cell_idx=ds["cell_idx"].values.astype("int64"),
            co_idx=ds["co_idx"].values.astype("int64"),
            person_idx=ds["person_idx"].values.astype("int64"),
            x_pre=ds["x_pre"].values.astype(float),
            treated=ds["treated"].values.astype("int64"),
            log_exposure=ds["log_exposure"].values.astype(float),
            post_count=ds["post_count"].values.astype("int64"),
            cells=cells,
            crime_outcomes=crime_outcomes,
            age_bands=age_bands,
            outcomes=outcomes,
            n_people=int(ds.attrs["n_people"]),
            trials=trials,
            published=published,
        )


def row_trials(design: Design, rows: np.ndarray) -> np.ndarray:
    """The trial index of each of ``rows`` (all 0 for a single trial)."""
    return design.cell_trial_idx[design.cell_idx[rows]]


__all__ = ["INDIVIDUAL_DATA", "SEP", "Design", "row_trials"]
