"""A real HTTP server (uvicorn on 127.0.0.1, port chosen by the OS) and headless Chromium.

Chromium is Debian's ``chromium`` + ``chromium-driver`` (``scripts/install-chromium.sh``),
started with a fresh profile and no network features; nothing is downloaded.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
)
PHONE = (390, 844)


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        return (
            f"BROWSER TESTS SKIPPED: {', '.join(missing)} not installed; "
            "run scripts/install-chromium.sh as root (apt: chromium chromium-driver)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "BROWSER TESTS SKIPPED: selenium is not installed in the venv (pip install selenium)"
    return None


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 in a thread; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a ceiling for a loaded machine, not a delay
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def chromium(
    *, javascript: bool = True, lang: str = "zh-CN,zh", size: tuple[int, int] = PHONE
) -> Iterator[Any]:
    """A headless Chromium driven by selenium, at phone size by default."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="kpibot-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={max(size[0], 500)},{size[1]}")
    # A phone's viewport (headless windows are at least 500 px wide): device metrics
    # emulation, so ``<meta name=viewport>`` and media queries see a phone.
    options.add_experimental_option(
        "mobileEmulation",
        {"deviceMetrics": {"width": size[0], "height": size[1], "pixelRatio": 2.0, "touch": True}},
    )
    prefs: dict[str, Any] = {"intl.accept_languages": lang}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def javascript_runs(driver: Any) -> bool:
    """Whether page scripts run in this browser (probed on a data: page)."""
    from selenium.webdriver.common.by import By

    driver.get(
        "data:text/html,<p "
        "id=p>off</p><script>document.getElementById('p').textContent='on'</script>"
    )
    return str(driver.find_element(By.ID, "p").text) == "on"
