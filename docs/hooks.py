"""MkDocs hook: generate the model reference on ``models.md`` from ``models/*.toml``.

Registered in ``mkdocs.yml`` under ``hooks:``. On the page ``models.md`` the marker
``<!-- catalogue -->`` is replaced by one section per spec in the catalogue (name,
description, family, terms, treatment pooling, a table of priors and the spec file
itself), so the reference can never drift from the specs that ship in the wheel.

It also tidies the API reference: the package's docstrings cross-reference with Sphinx
roles (``:func:`load_spec```), which Markdown renders literally as ``:func:load_spec``;
on every page the role prefix is dropped and the name kept as code (``~a.b.C`` -> ``C``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError

MARKER = "<!-- catalogue -->"
PAGE = "models.md"
ROOT = Path(__file__).resolve().parent.parent
# What Markdown makes of a Sphinx role such as :class:`~fd_bayes.SpecError`.
RST_ROLE = re.compile(
    r":(?:py:)?(?:attr|class|data|exc|func|meth|mod|obj):<code>(~?)([^<]+)</code>"
)

POOLING_WORDS = {
    "pooled": "partially pooled (variance component, non-centred)",
    "fixed": "regularised fixed term (zero-sum normal)",
    "none": "not in the model",
}
TREATMENT_WORDS = {
    "crime": "crime type x outcome, `crime[c,o]`",
    "outcome": "outcome, `outcome[o]`",
    "age": "age band, `age[a]`",
    "cell": "cell (outcome x crime type x age band), `cell[c,o,a]`",
    "trial": "trial, when pooling trials, `eta[t]` (see [Pooling trials](pooling.md))",
}
FAMILY_WORDS = {
    "negbin": "negative binomial",
    "poisson": "Poisson",
    "zinb": "zero-inflated negative binomial",
    "hurdle_negbin": "hurdle negative binomial (zero-truncated NB above zero)",
    "negmult": "negative multinomial (Poisson given a gamma person frailty, the frailty "
    "integrated out)",
}
TERM_WORDS = {
    "person_effect": "person effect `u[i]`, shared over a person's crime types and outcomes",
    "baseline": "baseline term `beta[c,o] * log1p(pre_count)`",
}


def _spec_module():
    # Document the source tree being built, not whatever copy happens to be installed.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from fd_bayes.modelling import spec

    return spec


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_spec(spec, filename: str) -> str:
    """Markdown for one model spec."""
    lines = [
        f"### `{spec.name}`",
        "",
        _cell(spec.description) or "*(no description)*",
        "",
        f"- **Family:** `{spec.family}` ({FAMILY_WORDS.get(spec.family, spec.family)})",
        f'- **Spec file:** `models/{filename}` (use `model="{spec.name}"` or '
        f"`--model {spec.name}`)",
        f"- **Content hash:** `{spec.content_hash[:16]}…` (recorded in every fit)",
        "",
        "**Terms**",
        "",
        "| term | present |",
        "|---|---|",
    ]
    for key, value in spec.terms.items():
        shown = f"`{value}`" if isinstance(value, str) else ("yes" if value else "no")
        if value == "correlated":
            shown += ": one effect per person and outcome, correlated across outcomes"
        lines.append(f"| {TERM_WORDS.get(key, key)} | {shown} |")
    lines += [
        "",
        "**Treatment-effect pooling** (deviations of the log rate ratio from `theta0`)",
        "",
        "| term | pooling |",
        "|---|---|",
    ]
    for key, value in spec.treatment.items():
        words = POOLING_WORDS.get(value, value)
        lines.append(f"| {TREATMENT_WORDS.get(key, key)} | `{value}`: {words} |")
    lines += ["", "**Priors**", "", "| parameter | prior |", "|---|---|"]
    for name, described in spec.prior_table():
        lines.append(f"| `{name}` | `{_cell(described)}` |")
    source = spec.source.rstrip("\n")
    lines += [
        "",
        f'??? note "The spec file `{filename}`"',
        "",
        "    ```toml",
        *[f"    {line}" if line else "" for line in source.splitlines()],
        "    ```",
        "",
    ]
    return "\n".join(lines)


def render_catalogue() -> str:
    """Markdown for every spec in the catalogue, in file-name order."""
    spec = _spec_module()
    paths = sorted(spec.catalogue_dir().glob("*.toml"))
    if not paths:
        raise PluginError(f"no model specs found in {spec.catalogue_dir()}")
    return "\n".join(render_spec(spec.load_spec(path), path.name) for path in paths)


def on_page_markdown(markdown: str, page, config, files, **kwargs) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise PluginError(f"{PAGE} lacks the marker {MARKER!r} for the model catalogue")
    return markdown.replace(MARKER, render_catalogue())


def _drop_role(match: re.Match) -> str:
    tilde, target = match.groups()
    return f"<code>{target.rsplit('.', 1)[-1] if tilde else target}</code>"


def on_page_content(html: str, page, config, files, **kwargs) -> str:
    return RST_ROLE.sub(_drop_role, html)
