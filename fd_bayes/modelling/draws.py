"""Posterior draws as flat arrays: the one place where ``(chain, draw)`` becomes one axis.

Every numpy consumer of draws (the posterior algebra, the effects table, per-quantity
diagnostics, meta-analysis, planning, calibration) flattens with :func:`flat_draws`,
chain-major (all draws of chain 0, then chain 1, ...), and restores the two axes with
:func:`by_chain`, so that R-hat and ESS can be computed on derived quantities.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

#: The name of the flattened axis.
SAMPLE = "sample"


def flat_draws(da: xr.DataArray) -> np.ndarray:
    """``da`` as an array (chain x draw, ...): the sample axis first, chain-major, the
    other dimensions in their order.

    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.arange(12).reshape(2, 3, 2), dims=("chain", "draw", "k"))
    >>> flat_draws(da)[:, 0].tolist()
    [0, 2, 4, 6, 8, 10]
    """
    return da.stack({SAMPLE: ("chain", "draw")}).transpose(SAMPLE, ...).values


def by_chain(values: np.ndarray, n_chain: int, n_draw: int) -> np.ndarray:
    """Flat draws (chain x draw, ...) back to (chain, draw, ...)."""
    values = np.asarray(values)
    return values.reshape(n_chain, n_draw, *values.shape[1:])


def n_chain_draw(posterior: xr.Dataset) -> tuple[int, int]:
    """The numbers of chains and of draws per chain of a posterior group."""
    return int(posterior.sizes["chain"]), int(posterior.sizes["draw"])


__all__ = ["SAMPLE", "by_chain", "flat_draws", "n_chain_draw"]
