"""Guards for the package's defaults (see CausalPy#889 for why)."""

import fd_bayes as fdb
from fd_bayes import constants


def test_defaults():
    assert constants.HDI_PROB == 0.95 == fdb.HDI_PROB
    assert constants.REDUCTION_THRESHOLDS == (0.25, 0.50)
    assert constants.RHAT_MAX == 1.01
    assert constants.ESS_MIN == 400
    assert constants.DIVERGENCES_MAX == 0
    assert constants.DISCLOSURE_THRESHOLD == 5
    assert constants.DEFAULT_EXPOSURE_DAYS == 365.0
    assert constants.DEFAULT_OUTCOME == "offending"
