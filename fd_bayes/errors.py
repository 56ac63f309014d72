"""Exceptions and warnings raised by fd_bayes."""

from __future__ import annotations


class FdBayesError(Exception):
    """Base class of every error fd_bayes raises on purpose."""


class DataError(FdBayesError, ValueError):
    """Input data that cannot be analysed as given.

    The message names the column, shows up to five offending rows and says how to
    fix the problem. The CLI prints :meth:`one_line` and exits with status 2.

    Attributes
    ----------
    column : str or None
        The column at fault.
    rows : list of int
        0-based data-row numbers of (up to five) offending rows.
    fix : str
        What to do about it.
    """

    def __init__(self, message: str, *, column=None, rows=(), fix: str = "", problem=""):
        super().__init__(message)
        if not fix and "\nFix: " in message:
            fix = message.split("\nFix: ", 1)[1].strip()
        self.column = column
        self.rows = list(rows)
        self.fix = fix
        self.problem = problem or message.splitlines()[0]

    def one_line(self) -> str:
        """The problem, the offending row numbers and the fix on a single line."""
        text = self.problem
        if self.rows:
            text += (
                f" (first offending data rows, counting from 0: {', '.join(map(str, self.rows))})"
            )
        if self.fix:
            text += f". Fix: {self.fix}"
        return text


class SpecError(FdBayesError, ValueError):
    """A model specification (TOML) that is malformed or names unknown terms/priors."""


class SettingsError(FdBayesError, ValueError):
    """An argument out of range or a sampler that is not available."""


class FdBayesWarning(UserWarning):
    """Base class of warnings fd_bayes emits (tests turn these into errors)."""


class DiagnosticsWarning(FdBayesWarning):
    """The sampler's diagnostics failed a threshold; the results may be unreliable."""


class ModelNote(FdBayesWarning):
    """The model was adapted to the data (e.g. a term left out); said in plain words."""


class LooWarning(FdBayesWarning):
    """PSIS-LOO is unreliable for some observations (Pareto k > 0.7); said in plain words."""
