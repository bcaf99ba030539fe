"""The viewer in a real browser: Debian's chromium driven by Playwright, on a SQLite store.

One browser and one viewer serve the whole module. The tests check what a person
sees once the page's script has run: the listing and its paging, the filter, every
part of a session page, hostile ids and messages shown as text (and no dialog ever
opened), a live session growing without a reload, and the access token. They save
the screenshots the README shows (docs/viewer-index.png, docs/viewer-session.png).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessionstore.cli.demo import DEMO_SESSIONS, DEMO_TITLES
from web_support import (
    CHROMIUM,
    HOSTILE_IDS,
    HOSTILE_TEXT,
    Viewer,
    agent_transcript,
    append,
    running_viewer,
    seed,
)

playwright_sync = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():  # pragma: no cover - `make test` installs it
    pytest.skip(
        f"{CHROMIUM} is missing: run scripts/install-system-deps.sh", allow_module_level=True
    )

from playwright.sync_api import Browser, Dialog, Error, Locator, Page, expect  # noqa: E402 - after the skips above

_DOCS = Path(__file__).resolve().parent.parent / "docs"
#: Where the screenshots go: the README's copies under docs/ when SESSIONSTORE_UPDATE_SCREENSHOTS=1
#: (so a plain `make test` leaves the checkout clean), else a scratch directory.
DOCS = (
    _DOCS
    if os.environ.get("SESSIONSTORE_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.mkdtemp(prefix="sessionstore-screenshots-"))
)
#: How long the live update may take to show (polling, not a speed assertion).
LIVE_TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store with 60 older load sessions, the hostile ones, then the ones worth a screenshot."""
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'viewer.db'}"
    seed(url, {f"load-{n:03}": [{"role": "user", "content": f"load {n}"}] for n in range(60)})
    seed(
        url,
        {sid: [{"role": "user", "content": HOSTILE_TEXT}] for sid in HOSTILE_IDS},
        attributes={"title": HOSTILE_TEXT},
    )
    for session_id, messages in DEMO_SESSIONS.items():
        seed(url, {session_id: messages}, attributes={"title": DEMO_TITLES[session_id]})
    seed(
        url,
        {"agent-run-7": agent_transcript()},
        attributes={"title": "Is it raining in Oslo?", "user": "alice"},
    )
    return url


@pytest.fixture(scope="module")
def viewer(store: str) -> Iterator[Viewer]:
    with running_viewer(store) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with playwright_sync.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page; any dialog (alert, confirm) it opens fails the test."""
    context = browser.new_context(viewport={"width": 1200, "height": 860}, accept_downloads=True)
    opened = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def on_error(error: Error) -> None:
        errors.append(str(error))

    opened.on("dialog", on_dialog)
    opened.on("pageerror", on_error)
    yield opened
    context.close()
    assert dialogs == [], f"a dialog opened: {dialogs}"
    assert errors == [], f"the page's script failed: {errors}"


def _ids(page: Page) -> list[str]:
    return page.locator("td.sid a").all_inner_texts()


def _row(page: Page, session_id: str) -> Locator:
    """The index's row whose link's text is exactly ``session_id``."""
    rows = page.locator("tbody tr")
    for n in range(rows.count()):
        if rows.nth(n).locator("td.sid a").inner_text() == session_id:
            return rows.nth(n)
    raise AssertionError(f"no link to {session_id!r} on {page.url}")


def test_the_index_lists_newest_first_and_pages(page: Page, viewer: Viewer) -> None:
    page.goto(viewer.base + "/")
    expect(page.locator("td.sid a").first).to_have_text("agent-run-7")
    expect(page.locator("tbody tr").first.locator("td.title")).to_have_text(
        "Is it raining in Oslo?"
    )
    expect(page.locator("tbody tr").first.locator("td.num")).to_have_text("5")
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "viewer-index.png"))
    seen = _ids(page)
    assert len(seen) == 50
    while page.locator("a.next").count():
        page.locator("a.next").click()
        page.wait_for_load_state()
        seen += _ids(page)
    loads = [sid for sid in seen if sid.startswith("load-")]
    assert loads == [f"load-{n:03}" for n in reversed(range(60))]
    assert len(seen) == len(set(seen)) and set(HOSTILE_IDS) <= set(seen)
    page.locator("a.first").click()
    expect(page.locator("td.sid a").first).to_have_text(seen[0])


def test_the_filter_keeps_ids_with_the_prefix(page: Page, viewer: Viewer) -> None:
    page.goto(viewer.base + "/")
    page.locator("#prefix").fill("demo-")
    page.locator("form.filter button").click()
    expect(page.locator("td.sid a")).to_have_text(list(reversed(DEMO_SESSIONS)))
    assert "prefix=demo-" in page.url
    expect(page.locator("#prefix")).to_have_value("demo-")


def test_the_session_page_shows_every_part(page: Page, viewer: Viewer, tmp_path: Path) -> None:
    page.goto(viewer.base + "/?prefix=agent")
    page.locator("td.sid a", has_text="agent-run-7").click()
    expect(page.locator("h1 .sid")).to_have_text("agent-run-7")
    expect(page.locator("article .role")).to_have_text(
        ["system", "user", "assistant", "tool", "assistant"], ignore_case=True
    )
    calls = page.locator("details.call")
    expect(calls.locator("code.tool")).to_have_text(["get_weather", "get_radar"])
    args = calls.first.locator("pre.args")
    expect(args).to_contain_text('"city": "Oslo"')
    calls.first.locator("summary").click()  # collapsible: closes on a click
    expect(args).to_be_hidden()
    results = page.locator("div.result")
    expect(results.first.locator("a.to-call")).to_have_attribute("href", "#m2-b1")
    expect(results.first.locator("a.to-call code.tool")).to_have_text("get_weather")
    expect(calls.nth(1)).to_have_class("call failed")
    expect(results.nth(1)).to_have_class("result error")
    expect(results.nth(1).locator(".err")).to_have_text("ERROR")
    expect(results.nth(1).locator("pre")).to_have_text("radar offline")
    image = page.locator("figure.image img")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.naturalWidth") == 48
    metadata = page.locator("details.meta pre")
    expect(metadata).to_be_hidden()
    page.locator("details.meta summary").click()
    expect(metadata).to_contain_text('"client": "web-test"')
    calls.first.locator("summary").click()  # and opens again
    expect(args).to_be_visible()
    page.screenshot(path=str(DOCS / "viewer-session.png"), full_page=True)
    with page.expect_download() as download:
        page.locator("a.download").click()
    saved = tmp_path / "session.json"
    download.value.save_as(saved)
    body = json.loads(saved.read_text(encoding="utf-8"))
    assert body["id"] == "agent-run-7" and len(body["messages"]) == 5
    assert body["attributes"]["user"] == "alice"


def test_hostile_ids_and_messages_show_as_text(page: Page, viewer: Viewer) -> None:
    for session_id in HOSTILE_IDS:
        page.goto(viewer.base + "/")
        row = _row(page, session_id)
        expect(row.locator("td.title")).to_have_text(HOSTILE_TEXT)
        row.locator("td.sid a").click()
        expect(page.locator("h1 .sid")).to_have_text(session_id)
        expect(page.locator("article .text")).to_have_text(HOSTILE_TEXT)
        expect(page.locator("p.stitle")).to_have_text(HOSTILE_TEXT)
        assert page.locator("main img").count() == 0
        assert page.locator("main script").count() == 0


def test_a_live_session_grows_without_a_reload(page: Page, viewer: Viewer, store: str) -> None:
    seed(store, {"live-run": [{"role": "user", "content": "Look up the time in Lima."}]})
    page.goto(viewer.base + "/session?id=live-run")
    expect(page.locator("article")).to_have_count(1)
    page.evaluate("window.notReloaded = true")
    call = {"type": "tool_use", "id": "t-9", "name": "clock", "input": {"city": "Lima"}}
    append(store, "live-run", [{"role": "assistant", "content": [call]}])
    expect(page.locator("details.call code.tool")).to_have_text("clock", timeout=LIVE_TIMEOUT_MS)
    result = {"type": "tool_result", "tool_use_id": "t-9", "content": HOSTILE_TEXT}
    append(store, "live-run", [{"role": "tool", "content": [result]}])
    expect(page.locator("article")).to_have_count(3, timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#count")).to_have_text("3")
    expect(page.locator("div.result pre")).to_have_text(HOSTILE_TEXT)
    # The result came in a later poll than its call: the script linked them both ways.
    expect(page.locator("div.result a.to-call")).to_have_attribute("href", "#m1-b0")
    expect(page.locator("details.call a.to-result")).to_have_attribute("href", "#m2-b0")
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("main img").count() == 0


def test_the_token_is_refused_without_and_accepted_with(page: Page, store: str) -> None:
    with running_viewer(store, token="browser-token") as guarded:
        refused = page.goto(guarded.base + "/")
        assert refused is not None and refused.status == 401
        expect(page.locator("body")).to_contain_text("needs its access token")
        page.goto(guarded.base + "/?token=browser-token")
        assert "token" not in page.url
        expect(page.locator("td.sid a").first).to_be_visible()
        seed(store, {"guarded-run": [{"role": "user", "content": "first"}]})
        page.goto(guarded.base + "/session?id=guarded-run")
        expect(page.locator("h1 .sid")).to_have_text("guarded-run")
        append(store, "guarded-run", [{"role": "assistant", "content": "second"}])
        # The page's polls carry the cookie the ?token= visit set.
        expect(page.locator("article .text")).to_have_text(
            ["first", "second"], timeout=LIVE_TIMEOUT_MS
        )
