"""Headless Chromium for the console's browser test: Debian's /usr/bin/chromium driven by
Playwright (never a downloaded browser), logged in through Airflow's own login form."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]


@contextmanager
def chromium_page(user_data_dir: Path):
    """A page of a fresh headless Chromium profile; closed on exit."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), ("expected Debian's chromium at /usr/bin/chromium, got "
                                     "none; apt-get install chromium")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(user_data_dir), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1500, "height": 1100})
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def log_in(page, base_url: str, username: str, password: str, target: str) -> None:
    """Airflow's login form (SimpleAuthManager), then wait to land on `target`."""
    page.goto(f"{base_url}/auth/login?next={quote(base_url + target, safe='')}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{base_url}{target}*", timeout=60_000)
