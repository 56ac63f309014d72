"""How well negmult_pooled fits compared with negbin_hier, on the example trial.

Reproduces the figures quoted in docs/pooling.md and models/negmult_pooled.toml: per
model, compile and sampling seconds, diagnostics, the overall and knife rate ratios
(median and 95% HDI), the number of posterior predictive statistics outside their 95%
intervals (ppp < 0.025 or > 0.975) and PSIS-LOO elpd with its standard error.

    python benchmarks/bench_negmult_fit.py            # 4 chains x (1000 + 1000), seed 11

Asserts nothing; the figures depend on the seed (and the timings on the machine).
"""

from __future__ import annotations

import warnings

import fd_bayes as fdb

MODELS = ("negbin_hier", "negmult_pooled")


def main() -> None:
    trial = fdb.example_trial()
    for model in MODELS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fdb.fit(trial, model, seed=11, progress=False)
            loo = fdb.loo(fit)
        effects = fit.effects()
        ppc = fit.ppc()
        outside = int(((ppc["ppp"] < 0.025) | (ppc["ppp"] > 0.975)).sum())
        d = fit.diagnostics()
        print(
            f"\n{model}: compile {fit.info['compile_seconds']:.1f} s, sampling "
            f"{fit.info['sampling_seconds']:.1f} s, max R-hat {d['max_rhat']:.3f}, min bulk ESS "
            f"{d['min_ess_bulk']:.0f}, divergences {d['divergences']}"
        )
        print(
            f"  elpd_loo {loo['elpd_loo']:.1f} (se {loo['se']:.1f}); predictive statistics "
            f"outside their 95% intervals: {outside} of {int(ppc['ppp'].notna().sum())}"
        )
        rows = effects[
            (effects["level"] == "overall")
            | ((effects["level"] == "crime_type") & (effects["crime_type"] == "knife"))
        ]
        for _, r in rows.iterrows():
            print(
                f"  {r['outcome']:13} {r['crime_type']:6} RR {r['rr_median']:.2f} "
                f"({r['rr_lower']:.2f}-{r['rr_upper']:.2f})"
            )


if __name__ == "__main__":
    main()
