"""Browser fixtures: Debian's Chromium driven by Playwright (never `playwright install`), the
Stripe sandbox delivering real webhooks to live_server over HTTP, and a background worker."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from catalog.demo import stripe_prices
from sandbox.stripe import StripeSandbox

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


DESKTOP = {"width": 1200, "height": 900}
PHONE = {"width": 390, "height": 844}  # an iPhone 12-14's CSS viewport


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One Chromium for the whole session (launching costs about a second); every test gets
    its own context (cookies, storage) from it, so tests stay independent."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("GIVRWRLD_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; our own DB reads here are
    # plain synchronous code between its calls.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Any]:
    """`new_page(PHONE)` opens a page in a fresh context of that viewport (closed after the
    test); several pages are several customers."""
    contexts: list[Any] = []

    def make(viewport: dict[str, int] | None = None) -> Any:
        context = chromium.new_context(viewport=viewport or DESKTOP)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def browser_page(new_page: Any) -> Any:
    return new_page(DESKTOP)


@pytest.fixture
def phone_page(new_page: Any) -> Any:
    return new_page(PHONE)


@pytest.fixture
def live_stripe(live_server: Any, settings: Any) -> Iterator[StripeSandbox]:
    """A Stripe sandbox whose hosted pages the browser opens and whose webhooks reach
    live_server over HTTP, signed, like Stripe's."""
    sb = StripeSandbox(
        api_key=settings.STRIPE_SECRET_KEY,
        webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
        webhook_url=live_server.url + "/api/stripe/webhook",
        prices=stripe_prices(),
    )
    settings.STRIPE_API_BASE = sb.serve()
    settings.API_URL = live_server.url  # success/cancel URLs come back to live_server
    try:
        yield sb
    finally:
        sb.shutdown()


class BackgroundWorker:
    """django-tasks-db's worker loop in a thread (its command installs signal handlers, which
    only the main thread may do, so the loop is driven directly)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        # An in-memory SQLite test database lives in one connection, which live_server's
        # threads already share; the worker must use the same one.
        self.shared = {
            c.alias: c for c in connections.all() if c.vendor == "sqlite" and c.is_in_memory_db()
        }
        self.thread = threading.Thread(target=self._run, name="test-worker", daemon=True)

    def _run(self) -> None:
        from django_tasks_db.management.commands.db_worker import Worker

        for alias, conn in self.shared.items():
            connections[alias] = conn
        try:
            while not self.stop.is_set():
                try:
                    Worker(
                        queue_names=["default"],
                        interval=0,
                        batch=True,
                        backend_name="default",
                        startup_delay=False,
                        max_tasks=None,
                        worker_id="browser-test-worker",
                        excluded_queue_names=[],
                    ).run()
                except Exception as exc:  # keep going; the test reports it
                    self.errors.append(exc)
                self.stop.wait(0.3)
        finally:
            if not self.shared:
                connections.close_all()

    def start(self) -> None:
        self.thread.start()

    def join(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


@pytest.fixture
def background_worker() -> Iterator[BackgroundWorker]:
    worker = BackgroundWorker()
    try:
        yield worker
    finally:
        if worker.thread.is_alive():
            worker.join()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Any:
    """`shot(page, "03-plan")` saves var/screenshots/<test>-03-plan.png (full page)."""
    prefix = request.node.name

    def take(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{prefix}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
