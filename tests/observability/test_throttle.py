"""The panel client stays under the rate limit: a burst larger than the limit, no 429."""

from __future__ import annotations

import pytest

from panel.client import PanelClient
from panel.throttle import RESET_MARGIN_SECONDS, RateLimiter
from sandbox.panel import PanelSandbox


class FakeTime:
    """One clock for the sandbox and the client; sleeping moves it forward, instantly."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_panel():
    clock = FakeTime()
    sb = PanelSandbox.from_seed(clock=clock)
    sb.faults.rate_limit = 30
    url = sb.serve()
    try:
        yield sb, url, clock
    finally:
        sb.shutdown()


def test_burst_bigger_than_the_limit_never_hits_429(fake_panel):
    sb, url, clock = fake_panel
    client = PanelClient(url, sb.app_key, rate_limit_per_minute=240, clock=clock, sleep=clock.sleep)
    with client:
        for _ in range(75):  # 2.5 windows' worth at the sandbox's 30/min
            client.node_get(node_id=1)
    assert sb.counters() == {"GET /api/application/nodes/{node}": 75}  # all answered, no 429
    # Two waits, each to the end of a 60 s window (plus the margin), none of them a 429.
    assert len(clock.slept) == 2
    assert all(s == pytest.approx(60 + RESET_MARGIN_SECONDS) for s in clock.slept)
    assert client.rate_limit is not None and client.rate_limit.remaining == 30 - 15


def test_without_the_throttle_the_same_burst_is_refused(fake_panel):
    from panel.errors import PanelRateLimitedError

    sb, url, _ = fake_panel
    with PanelClient(url, sb.app_key) as client:
        for _ in range(30):
            client.node_get(node_id=1)
        with pytest.raises(PanelRateLimitedError):
            client.node_get(node_id=1)


def test_budget_spent_by_another_process_is_respected(fake_panel):
    sb, url, clock = fake_panel
    other = PanelClient(url, sb.app_key)  # another worker with the same key, no pacing
    mine = PanelClient(url, sb.app_key, rate_limit_per_minute=240, clock=clock, sleep=clock.sleep)
    try:
        mine.node_get(node_id=1)  # opens the window
        for _ in range(28):
            other.node_get(node_id=1)
        mine.node_get(node_id=1)  # Remaining: 0 now
        assert mine.rate_limit is not None and mine.rate_limit.remaining == 0
        mine.node_get(node_id=1)  # waits for the reset instead of a 429
        assert clock.slept == [pytest.approx(60 + RESET_MARGIN_SECONDS)]
        assert sb.counters() == {"GET /api/application/nodes/{node}": 31}
    finally:
        other.close()
        mine.close()


def test_setting_caps_below_the_panels_limit(fake_panel):
    sb, url, clock = fake_panel
    with PanelClient(
        url, sb.app_key, rate_limit_per_minute=10, clock=clock, sleep=clock.sleep
    ) as c:
        for _ in range(25):
            c.node_get(node_id=1)
    assert len(clock.slept) == 2


def test_rate_limiter_waits_when_others_spent_the_window():
    t = FakeTime()
    rl = RateLimiter(per_minute=5, clock=t, sleep=t.sleep)
    rl.before_request()
    rl.observe(limit=5, remaining=0)  # others used the window up
    t.now += 30
    rl.before_request()  # must wait for the end of our window
    assert t.slept == [pytest.approx(30 + RESET_MARGIN_SECONDS)]


def test_from_settings_paces_and_reports(catalog, settings):
    settings.PANEL_RATE_LIMIT_PER_MINUTE = 100
    with PanelClient.from_settings() as client:
        assert client.throttle is not None and client.throttle.per_minute == 100
        assert client._on_call is not None
    settings.PANEL_SELF_THROTTLE = False
    with PanelClient.from_settings() as client:
        assert client.throttle is None
