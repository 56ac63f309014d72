"""report.html renders in a real browser (headless Chromium): not blank, key findings
present, every image embedded and decodable. Skipped only outside CI without Chromium."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import fd_bayes as fdb
from fd_bayes.report.full import report
from tests.helpers import report_fit as handmade_fit

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


def _chromium() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("CI is set but no Chromium binary was found (.ci/run installs it)")
    pytest.skip("no Chromium binary found (set CI to make this a failure)")


def _run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    browser = _chromium()
    fit, trial = handmade_fit()
    out = tmp_path_factory.mktemp("report")
    report(fit, out, frequentist=fdb.frequentist.compare(trial, seed=1))
    html = out / "report.html"
    profile = tmp_path_factory.mktemp("profile")
    png = out / "screenshot.png"
    shot = _run(browser, profile, f"--screenshot={png}", "--window-size=1200,2000", html.as_uri())
    assert png.exists(), shot.stderr[-2000:]
    dom = _run(browser, profile, "--dump-dom", html.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    return html, png, dom.stdout


def test_screenshot_is_not_blank(rendered):
    from PIL import Image

    _, png, _ = rendered
    with Image.open(png) as img:
        assert img.size == (1200, 2000)
        pixels = np.asarray(img.convert("L"), dtype=float)
    non_white = float(np.mean(pixels < 245))
    assert non_white > 0.05, f"only {non_white:.1%} of the screenshot is not white"


def test_key_findings_in_rendered_dom(rendered):
    _, _, dom = rendered
    assert '<section id="key-findings">' in dom
    assert re.search(r"<h2>\s*Key findings\s*</h2>", dom)
    assert 'class="findings"' in dom and "Findings table" in dom
    assert "Young people offered the intervention" in dom
    assert '<section id="appendix">' in dom


def test_no_external_resources_and_images_decode(rendered):
    from PIL import Image

    html, _, dom = rendered
    text = html.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|file:)?//""", text, re.I)
    assert "<script" not in text and "<link" not in text and "@import" not in text
    assert "url(" not in text  # no CSS resources either
    sources = re.findall(r"<img[^>]*\ssrc=\"([^\"]+)\"", dom)
    assert len(sources) == 3
    for src in sources:
        head, _, data = src.partition(",")
        assert head == "data:image/png;base64"
        with Image.open(io.BytesIO(base64.b64decode(data, validate=True))) as img:
            img.verify()
            assert img.size[0] > 100 and img.size[1] > 100
