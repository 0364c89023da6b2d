"""Chromium for the browser tests, and what they check on every screen (a pytest plugin: fixture
``chromium``; helpers ``shot``, ``operator_signs_in``, ``axe_violations``, ``overflow``).

Playwright drives the system's Chromium (Debian package; ``scripts/install-chromium.sh``), never a
downloaded browser. Without Chromium the tests skip with the reason, unless
``TIXTRACE_REQUIRE_BROWSER=1`` (CI), where they fail. Screenshots go to ``test-artifacts/``.
axe-core is vendored in ``tests/support/axe`` (its licence beside it): nothing is downloaded at test time.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
AXE = Path(__file__).with_name("axe") / "axe.min.js"
CHROMIUM = os.environ.get("TIXTRACE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
PHONE_WIDTH = 390  # an iPhone 12-15 in portrait, in CSS pixels


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if CHROMIUM is None:
        reason = "no Chromium found (install it with scripts/install-chromium.sh)"
        if os.environ.get("TIXTRACE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"TIXTRACE_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def operator_signs_in(chromium: Any, backoffice_url: str, *, user: str = "operator",
                      password: str = "correct horse battery") -> Any:
    """A new browser context signed in to the back office's screens; the page is on the overview."""
    page = chromium.new_context().new_page()
    page.goto(f"{backoffice_url}/login")
    page.fill("#login-user", user)
    page.fill("#login-password", password)
    page.click("#login-submit")
    page.wait_for_url(f"{backoffice_url}/")
    return page


def axe_violations(page: Any) -> list[str]:
    """The WCAG 2.1 A/AA violations axe-core finds on the page as it is, one line each: rule, impact,
    and the first offending elements."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a',
                                           'wcag21aa', 'best-practice']}});
        return r.violations.map(v => `${v.id} (${v.impact}): ${v.help} — ` +
                                     v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '));
    }""")
    return list(result)


def overflow(page: Any) -> list[str]:
    """What sticks out of the viewport sideways: the page's scroll width if wider than the window, and
    the elements whose right edge passes it (tables inside a scrolling box excepted)."""
    return list(page.evaluate("""() => {
        const width = document.documentElement.clientWidth, out = [];
        if (document.documentElement.scrollWidth > width)
            out.push(`page scrollWidth ${document.documentElement.scrollWidth} > ${width}`);
        for (const el of document.body.querySelectorAll('*')) {
            const box = el.getBoundingClientRect();
            if (box.width === 0 || box.right <= width + 1) continue;
            let scroller = el.parentElement, clipped = false;
            while (scroller && scroller !== document.body) {
                const style = getComputedStyle(scroller);
                if (['auto', 'scroll', 'hidden'].includes(style.overflowX)) { clipped = true; break; }
                scroller = scroller.parentElement;
            }
            const name = typeof el.className === 'string' && el.className ? '.' + el.className.split(' ')[0] : '';
            if (!clipped) out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${name}` +
                                   ` right edge ${Math.round(box.right)}`);
        }
        return out.slice(0, 10);
    }"""))
