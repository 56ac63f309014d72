"""The installed version of fd_bayes (recorded in every fit and export)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fd_bayes")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"
