"""The example trial with the default model and sampler: clean sampling, a sound table,
and a faithful, anonymous save/load round trip."""

from __future__ import annotations

import numpy as np

import fd_bayes as fdb
from fd_bayes.inference import idata as infd


def test_samples_cleanly(example_fit):
    d = example_fit.diagnostics()
    assert d["divergences"] == 0
    assert d["max_rhat"] <= 1.01
    assert d["min_ess_bulk"] >= 400 and d["min_ess_tail"] >= 400
    assert example_fit.diagnostic_problems() == []


def test_effects_table_shape_and_finding(example_fit):
    e = example_fit.effects()
    # 2 outcomes x (10 cells + 5 crime types + 2 age bands + overall + 3 harm rows)
    assert len(e) == 2 * (10 + 5 + 2 + 1 + 3)
    assert e[["rr_median", "rr_lower", "rr_upper", "p_reduction"]].notna().all().all()
    assert ((e["rr_lower"] <= e["rr_median"]) & (e["rr_median"] <= e["rr_upper"])).all()
    # the synthetic trial was built with a ~40% overall reduction in offending
    overall = e[(e["level"] == "overall") & (e["outcome"] == "offending")].iloc[0]
    assert overall["p_reduction"] > 0.95
    assert overall["rr_lower"] < 0.6 < overall["rr_upper"]


def test_fit_records_provenance(example_fit):
    info = example_fit.info
    assert info["model"] == "negbin_hier"
    assert info["spec_hash"] == fdb.load_spec("negbin_hier").content_hash
    assert info["data_hash"] == fdb.example_trial().data_hash()
    assert info["seed"] == 11
    assert info["sampler"] in {"nutpie", "pymc", "numpyro"}
    groups = set(example_fit.idata.groups())
    assert {
        "posterior",
        "prior",
        "prior_predictive",
        "posterior_predictive",
        "observed_data",
        "constant_data",
        "sample_stats",
    } <= groups


def test_posterior_predictive_resembles_the_data(example_fit):
    idata = example_fit.idata
    y = idata.observed_data["y"].values
    rep = idata.posterior_predictive["y"].values.reshape(-1, y.size)
    share_zero = (rep == 0).mean(axis=1)
    assert np.quantile(share_zero, 0.01) < (y == 0).mean() < np.quantile(share_zero, 0.99)


def test_save_load_round_trip_without_person_ids(example_fit, tmp_path):
    path = example_fit.save(tmp_path / "fit.nc")
    loaded = fdb.load(path)
    assert loaded.effects().equals(example_fit.effects())
    # the log-likelihood is not stored but recomputed identically
    assert "log_likelihood" not in loaded.idata.groups()
    np.testing.assert_allclose(
        loaded.log_likelihood()["y"].values, example_fit.idata.log_likelihood["y"].values
    )
    assert loaded.diagnostics() == example_fit.diagnostics()
    assert loaded.info == example_fit.info
    ids = set(fdb.example_trial().data["person_id"].astype(str))
    raw = infd.from_netcdf(path)
    for group in raw.groups():
        ds = raw[group]
        texts = [str(v) for v in ds.attrs.values()]
        for name in [*ds.data_vars, *ds.coords]:
            values = ds[name].values
            if values.dtype.kind in "OUS":
                texts += [str(v) for v in values.ravel()]
        assert not ids & set(texts), group
        assert not any(i in t for t in texts for i in ("P000", "P194")), group
    assert raw.constant_data["person_idx"].dtype.kind == "i"


def test_side_by_side_with_the_frequentist_table(example_fit):
    trial = fdb.example_trial()
    table = fdb.frequentist.compare(trial, methods=["negbin_glm", "rate_test"], seed=1)
    sbs = fdb.side_by_side(example_fit, table)
    assert len(sbs) == 2 * (5 + 1)  # outcomes x (crime types + pooled "all")
    effects = example_fit.effects()
    knife = sbs[(sbs["outcome"] == "offending") & (sbs["crime_type"] == "knife")].iloc[0]
    e = effects[
        (effects["level"] == "crime_type")
        & (effects["crime_type"] == "knife")
        & (effects["outcome"] == "offending")
    ].iloc[0]
    assert knife["rr_median"] == e["rr_median"] and knife["p_reduction"] == e["p_reduction"]
    nb = table[
        (table["method"] == "negbin_glm")
        & (table["crime_type"] == "knife")
        & (table["outcome"] == "offending")
        & (table["age_band"] == "all")
    ].iloc[0]
    assert knife["nb_rr"] == nb["estimate"] and knife["nb_p"] == nb["p_value"]
    assert np.isfinite(knife["p_rate_test"])
    pooled = sbs[(sbs["outcome"] == "offending") & (sbs["crime_type"] == "all")].iloc[0]
    assert np.isfinite(pooled["nb_rr"])  # the GLM's pooled row lines up with "overall"


def test_the_fit_reuses_its_last_rounds_diagnostics_which_are_the_posteriors(example_fit):
    # the diagnostics are not computed twice: the fit takes those its last sampling round
    # computed, which must be exactly those of the posterior it holds
    sampled = example_fit._sampled_diagnostics()
    assert sampled is not None
    assert sampled == infd.diagnostics(example_fit.idata)
    assert example_fit.diagnostics() == sampled
