"""Criticise and vary the model: two likelihood families, LOO comparison, prior sensitivity.

The example trial is SYNTHETIC (the design of the Milton Keynes trial, simulated
counts). Nothing here is a finding about real young people.

Run::

    python examples/compare_families.py          # four fits of the example trial (minutes)
    python examples/compare_families.py --quick  # 2 chains x 300 draws: a check only

Steps:

1. the prior predictive check of the default model, before any fitting;
2. fit the default hierarchical negative binomial (``negbin_hier``) and the
   zero-inflated one (``zinb_hier``); check their diagnostics and posterior predictive
   checks (share of zeros, dispersion, maximum);
3. compare them by PSIS-LOO (elpd difference with its standard error);
4. prior sensitivity: refit under the sceptical spec (``negbin_sceptical``) and see
   which conclusions about P(reduction) depend on the prior.
"""

from __future__ import annotations

import argparse

import pandas as pd

import fd_bayes as fdb

SEED = 11
pd.set_option("display.width", 140)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="2 chains x 300 draws: checks the script runs"
    )
    args = parser.parse_args()
    # the package's defaults (4 chains x 1000 draws after 1000 warm-up) unless --quick
    settings = {"draws": 300, "tune": 300, "chains": 2, "adapt": False} if args.quick else {}
    trial = fdb.example_trial()
    print(trial)

    # 1. What the priors imply before seeing the follow-up counts.
    print("\nPriors of negbin_hier:")
    print(fdb.priors("negbin_hier")[["prior", "dist", "params", "implied"]].to_string(index=False))
    prior_ppc = fdb.prior_check(trial, "negbin_hier", seed=SEED)
    pooled = prior_ppc[prior_ppc["crime_type"] == "all"]
    print("\nPrior predictive check (pooled over crime types):")
    print(pooled.to_string(index=False, float_format=lambda v: f"{v:.3g}"))

    # 2. Two families.
    fits = {
        name: fdb.fit(trial, name, seed=SEED, progress=False, **settings)
        for name in ("negbin_hier", "zinb_hier")
    }
    for name, fit in fits.items():
        d = fit.diagnostics()
        print(
            f"\n{name}: max R-hat {d['max_rhat']:.3f}, min bulk ESS {d['min_ess_bulk']:.0f}, "
            f"divergences {d['divergences']}"
        )
        ppc = fit.ppc()
        extreme = ppc[(ppc["ppp"] < 0.05) | (ppc["ppp"] > 0.95)]
        print(f"  posterior predictive checks with ppp outside [0.05, 0.95]: {len(extreme)}")
        eff = fit.effects()
        print(
            eff[eff["level"].isin(["overall", "crime_type"])][
                [
                    "outcome",
                    "level",
                    "crime_type",
                    "rr_median",
                    "rr_lower",
                    "rr_upper",
                    "p_reduction",
                ]
            ].to_string(index=False, float_format=lambda v: f"{v:.2f}")
        )

    # 3. Which family predicts held-out rows better?
    print("\nPSIS-LOO comparison (best first):")
    print(fdb.compare(fits).to_string(index=False, float_format=lambda v: f"{v:.2f}"))

    # 4. Does any conclusion depend on the prior?
    sens = fdb.sensitivity(
        trial,
        "negbin_hier",
        priors=["negbin_hier", "negbin_sceptical"],
        seed=SEED,
        progress=False,
        **settings,
    )
    print("\nPrior sensitivity:")
    print(sens.summary())


if __name__ == "__main__":
    main()
