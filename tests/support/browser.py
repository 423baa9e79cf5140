"""Debian's Chromium driven by Playwright for Python (never ``playwright install``: the
binary is the system's, ``shutil.which("chromium")``), and axe-core from node_modules.

The flags are the ones this machine's closed network needs: without the background
networking ones Chromium keeps trying Google's hosts at every start.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, async_playwright

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
PHONE = {"width": 360, "height": 740}
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    found = shutil.which("chromium")
    if found is None:
        raise RuntimeError("Debian's chromium is not installed (apt-get install chromium)")
    return found


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=FLAGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now. The script is
    evaluated through the DevTools protocol, which the page's CSP does not govern (the
    pages' own scripts are files of the same origin, never inline)."""
    await page.evaluate(AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = await page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


async def fonts_of(page: Page, selector: str) -> dict[str, int]:
    """The fonts Chromium really drew ``selector``'s text with: family -> glyphs (the
    DevTools protocol's CSS.getPlatformFontsForNode), so boxes for missing glyphs show."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("DOM.enable")
    await cdp.send("CSS.enable")
    document = await cdp.send("DOM.getDocument", {"depth": -1})
    found = await cdp.send(
        "DOM.querySelector", {"nodeId": document["root"]["nodeId"], "selector": selector}
    )
    fonts = await cdp.send("CSS.getPlatformFontsForNode", {"nodeId": found["nodeId"]})
    await cdp.detach()
    return {f["familyName"]: int(f["glyphCount"]) for f in fonts["fonts"]}


async def keep_screenshot(page: Page, name: str) -> bytes:
    """A screenshot of the page; also written to docs/screenshots/ for the README when
    CCHC_SCREENSHOTS=1 (so a normal run leaves the tree as it found it)."""
    png = await page.screenshot(full_page=True)
    if os.environ.get("CCHC_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / name).write_bytes(png)
    return png
