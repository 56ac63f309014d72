"""Exceptions and warnings raised by fd_bayes."""

from __future__ import annotations

#: How many offending rows a :class:`DataError` shows.
MAX_SHOWN = 5


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


def show_rows(rows, columns=None) -> str:
    """Render the first offending rows (index = 0-based row number in the input).

    ``rows`` is a pandas DataFrame; ``columns`` (optional) selects the columns shown.
    """
    shown = rows if columns is None else rows[[c for c in columns if c in rows.columns]]
    more = len(rows) - MAX_SHOWN
    text = shown.head(MAX_SHOWN).to_string(max_colwidth=30)
    suffix = f"\n  ... and {more} more row(s)" if more > 0 else ""
    return "\n  " + text.replace("\n", "\n  ") + suffix


def column_error(
    column: str, problem: str, rows, fix: str, cols=None, numbered: bool = True
) -> DataError:
    """The :class:`DataError` for a problem in one column of an input table.

    Parameters
    ----------
    column : str
        The column at fault (named first in the message).
    problem : str
        What is wrong, in plain words.
    rows : pandas.DataFrame or None
        The offending rows (index = 0-based row number in the input); up to
        :data:`MAX_SHOWN` are shown, and their numbers kept in :attr:`DataError.rows`.
    fix : str
        What to do about it.
    cols : list of str, optional
        The columns of ``rows`` to show (default all).
    numbered : bool
        Keep the row numbers (``False`` when ``rows`` is a summary, not input rows).

    Returns
    -------
    DataError
        Raise it: ``raise column_error(...)``.

    Examples
    --------
    >>> err = column_error("arm", "missing", None, "add the arm of every person")
    >>> err.one_line()
    "column 'arm': missing. Fix: add the arm of every person"
    """
    shown = "" if rows is None or rows.empty else f"; first offending rows:{show_rows(rows, cols)}"
    numbers = [] if rows is None or not numbered else [int(i) for i in rows.index[:MAX_SHOWN]]
    return DataError(
        f"column '{column}': {problem}{shown}\nFix: {fix}",
        column=column,
        rows=numbers,
        fix=fix,
        problem=f"column '{column}': {problem}",
    )


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
