"""Headless Chromium (Debian's `chromium`, driven by Playwright) for the report's tests.

    python tests/browser_helpers.py REPORT_DIR OUT.png   # the screenshot in docs/

The flags keep Chromium off the network it would otherwise try to reach at start
(background updates, sync), so a failed request is one the page itself made.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str | None:
    """Debian's chromium, if installed (`make test` installs it)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageLoad:
    """What happened while a page loaded: console errors, requests that failed or left
    the disk, and dialogs (an `alert` would mean data ran as code)."""

    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@contextmanager
def chromium_page(width: int = 1200, height: int = 900) -> Iterator[Any]:
    """A Playwright page in headless Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(),
                                             args=CHROMIUM_FLAGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def load(page: Any, path: Path) -> PageLoad:
    """Open a local file in `page`, recording what went wrong while it loaded."""
    seen = PageLoad()
    handlers = {
        "console": lambda m: seen.console_errors.append(m.text) if m.type == "error" else None,
        "requestfailed": lambda r: seen.failed_requests.append(r.url),
        "request": lambda r: None if r.url.startswith(("file:", "data:", "blob:", "about:"))
        else seen.remote_requests.append(r.url),
        "dialog": lambda d: (seen.dialogs.append(d.message), d.dismiss()),
        "pageerror": lambda e: seen.console_errors.append(str(e)),
    }
    for event, handler in handlers.items():
        page.on(event, handler)
    try:
        page.goto(path.resolve().as_uri())
        page.wait_for_load_state("load")
    finally:
        for event, handler in handlers.items():
            page.remove_listener(event, handler)
    return seen


if __name__ == "__main__":
    site, out = Path(sys.argv[1]), Path(sys.argv[2])
    with chromium_page(1200, 760) as browser_page:
        load(browser_page, site / sys.argv[3] if len(sys.argv) > 3 else site / "index.html")
        browser_page.screenshot(path=str(out))
    print(out)
