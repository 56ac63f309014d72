"""Exceptions and warnings raised by fd_bayes."""

from __future__ import annotations


class FdBayesError(Exception):
    """Base class of every error fd_bayes raises on purpose."""


class DataError(FdBayesError, ValueError):
    """Input data that cannot be analysed as given.

    The message names the column, shows up to five offending rows and says how to
    fix the problem. The CLI prints it as one line and exits with status 2.
    """


class SpecError(FdBayesError, ValueError):
    """A model specification (TOML) that is malformed or names unknown terms/priors."""


class FdBayesWarning(UserWarning):
    """Base class of warnings fd_bayes emits (tests turn these into errors)."""


class DiagnosticsWarning(FdBayesWarning):
    """The sampler's diagnostics failed a threshold; the results may be unreliable."""


class ModelNote(FdBayesWarning):
    """The model was adapted to the data (e.g. a term left out); said in plain words."""
