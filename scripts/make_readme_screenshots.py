"""The README's two pictures: the home page and one dashboard (unlearning), as a visitor sees them.

    .venv/bin/python scripts/make_readme_screenshots.py      # writes docs/images/home.png, unlearning.png

Serves ``notebooks/`` exactly as ``make dashboard`` does (``python -m deletionlab.serving``), opens
both pages in Debian's Chromium through Playwright, waits for the dashboard's first result and saves
the screenshots as 8-bit palette PNGs (small enough to keep in git; regenerate after a UI change).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from PIL import Image  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from conftest import CHROMIUM, CHROMIUM_ARGS, VoilaServer  # noqa: E402

OUT = ROOT / "docs" / "images"


def save_small(raw: Path, dest: Path, width: int = 1100) -> None:
    """Scale to ``width`` pixels and quantise to 256 colours (a dashboard screenshot has few)."""
    im = Image.open(raw).convert("RGB")
    if im.width > width:
        im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
    im.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(dest, optimize=True)
    raw.unlink()
    print(f"{dest.relative_to(ROOT)}: {dest.stat().st_size / 1024:.0f} kB")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    server = VoilaServer(ROOT / "notebooks", "voila-readme.log")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(server.url, timeout=120_000)
            page.wait_for_selector(".dl-card", state="visible", timeout=120_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(OUT / "home.raw.png"), full_page=True)
            save_small(OUT / "home.raw.png", OUT / "home.png")

            page.goto(server.url + "voila/render/unlearning_releases.ipynb", timeout=300_000)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.dl-root .dl-jobbar .dl-status')].some(e => e.textContent.includes('done'))",
                timeout=300_000)
            page.wait_for_timeout(2000)
            page.set_viewport_size({"width": 1280, "height": 1250})
            page.evaluate("() => document.querySelector('.dl-root').scrollIntoView()")
            page.wait_for_timeout(1000)
            page.screenshot(path=str(OUT / "unlearning.raw.png"))  # the widget's top: settings, summary, first charts
            save_small(OUT / "unlearning.raw.png", OUT / "unlearning.png")
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
