"""What a fit records about itself, and the two warnings every fit can give.

:func:`write_provenance` is the one writer of a fit's ``posterior.attrs`` (catalogue and
formula fits alike): version, what was fitted, seed, sampler and settings, timings, data
hash, trial name, notes and harm weights. The attribute names and value types are the
saved-fit format: a fit saved before is read by :func:`fd_bayes.load` after, so they do
not change.

:func:`warn_notes` and :func:`warn_diagnostics` turn model notes and failed diagnostics
into :class:`~fd_bayes.errors.ModelNote` and :class:`~fd_bayes.errors.DiagnosticsWarning`.
Both take the ``stacklevel`` the caller would give :func:`warnings.warn` itself, so a
function called by the user passes 2 and the warning points at the user's line; no
frame is inspected.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import warnings
from collections.abc import Iterable, Mapping, Sequence

from fd_bayes._version import __version__
from fd_bayes.data import Trial
from fd_bayes.errors import DiagnosticsWarning, ModelNote
from fd_bayes.inference.idata import InferenceData
from fd_bayes.inference.settings import SamplerSettings

#: The libraries whose versions a fit records (``library_versions``): what sampled it.
LIBRARIES = (
    "pymc",
    "pytensor",
    "nutpie",
    "arviz",
    "numpy",
    "scipy",
    "numba",
    "statsmodels",
    "pandas",
    "xarray",
    "bambi",
    "numpyro",
    "jax",
)


@functools.cache
def library_versions() -> dict[str, str]:
    """The installed versions of :data:`LIBRARIES` (those not installed are left out)."""
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


#: How the diagnostics warning starts; the failed diagnostics follow.
DIAGNOSTICS_FAILED = "The sampler's diagnostics failed, do not report these results yet: "


def write_provenance(
    idata: InferenceData,
    *,
    trial: Trial,
    settings: SamplerSettings,
    seed: int,
    sampler: str,
    model: Mapping[str, object],
    run: Mapping[str, object],
    notes: Sequence[str],
) -> None:
    """Record a fit's provenance in ``idata.posterior.attrs`` (in place).

    ``model``: what was fitted (``model``, ``spec_hash``, ``spec_json``, ``spec_source``
    for a catalogue model; ``bambi_version``, ``model``, ``formula``, ``family`` for a
    formula model); ``run``: how the run went (``mass_matrix``, ``compile_seconds``,
    ``sampling_seconds``). The rest is common to every fit: ``fd_bayes_version``,
    ``library_versions`` (JSON: the versions of :data:`LIBRARIES` that sampled it),
    ``seed``, ``sampler``, ``draws``, ``tune``, ``chains``, ``target_accept``,
    ``data_hash``, ``trial_name``, ``notes`` (JSON list) and ``harm_weights`` (JSON, or
    "" when the trial carries none).
    """
    idata.posterior.attrs.update(
        {
            "fd_bayes_version": __version__,
            "library_versions": json.dumps(library_versions()),
            **model,
            "seed": int(seed),
            "sampler": sampler,
            **settings.as_attrs(),
            **run,
            "data_hash": trial.data_hash(),
            "trial_name": trial.name,
            "notes": json.dumps(list(notes)),
            "harm_weights": json.dumps(trial.harm_weights) if trial.harm_weights else "",
        }
    )


def warn_notes(notes: Iterable[str], stacklevel: int = 2) -> None:
    """One :class:`~fd_bayes.errors.ModelNote` per note (``stacklevel`` as the caller
    would pass it to :func:`warnings.warn`)."""
    for note in notes:
        warnings.warn(note, ModelNote, stacklevel=stacklevel + 1)


def warn_diagnostics(problems: Sequence[str], stacklevel: int = 2) -> None:
    """The :class:`~fd_bayes.errors.DiagnosticsWarning` of a fit whose diagnostics failed
    (nothing when ``problems`` is empty); ``stacklevel`` as the caller would pass it to
    :func:`warnings.warn`."""
    if problems:
        warnings.warn(
            DIAGNOSTICS_FAILED + " ".join(problems),
            DiagnosticsWarning,
            stacklevel=stacklevel + 1,
        )


__all__ = [
    "DIAGNOSTICS_FAILED",
    "LIBRARIES",
    "library_versions",
    "warn_diagnostics",
    "warn_notes",
    "write_provenance",
]
