"""The viewer over real HTTP, on every backend: pages, paging, the filter, escaping, the tail,
the JSON download, the token and the headers. The browser tests (``test_web_browser``) check
what a person sees after the page's script runs."""

from __future__ import annotations

import asyncio
import html
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sessionstore import open_store
from sessionstore.web.app import PAGE_MESSAGES
from sessionstore.web.listing import index_page
from sessionstore.web.security import CSP, require_token
from web_support import (
    HOSTILE_IDS,
    HOSTILE_TEXT,
    Viewer,
    agent_transcript,
    append,
    free_port,
    running_viewer,
    seed,
)

_LINK = re.compile(r'<td class="sid"><a href="([^"]+)">([^<]*)</a>')


def _rows(page: str) -> list[tuple[str, str]]:
    """The index's (href, id) pairs, unescaped as a browser would."""
    return [(html.unescape(href), html.unescape(text)) for href, text in _LINK.findall(page)]


def _next(page: str) -> str | None:
    found = re.search(r'<a class="next" href="([^"]+)"', page)
    return html.unescape(found.group(1)) if found else None


@pytest.fixture
def shared_url(store_url: str) -> str:
    """A store on every backend the viewer and the test can both open by URL (memory:// opens
    a fresh store each time, so the viewer would never see what the test writes)."""
    if store_url.startswith("memory:"):
        pytest.skip("a memory:// store is not shared between two opens")
    return store_url


@pytest.fixture
def client(shared_url: str) -> Iterator[tuple[str, httpx.Client]]:
    with running_viewer(shared_url) as viewer, httpx.Client(base_url=viewer.base) as http:
        yield shared_url, http


def test_the_index_pages_newest_first(client: tuple[str, httpx.Client]) -> None:
    url, http = client
    ids = [f"s-{n:03}" for n in range(120)]
    seed(url, {sid: [{"role": "user", "content": sid}] for sid in ids}, attributes={"title": "t"})
    seen: list[str] = []
    target: str | None = "/"
    while target is not None:
        response = http.get(target)
        assert response.status_code == 200
        rows = _rows(response.text)
        assert 0 < len(rows) <= 50
        seen += [sid for _, sid in rows]
        target = _next(response.text)
    assert seen == ids[::-1]
    first = http.get("/").text
    assert '<td class="title">t</td>' in first
    assert '<td class="num">1</td>' in first


def test_the_prefix_filter_keeps_only_matching_ids(client: tuple[str, httpx.Client]) -> None:
    url, http = client
    seed(
        url,
        {
            f"{kind}-{n}": [{"role": "user", "content": "x"}]
            for n in range(3)
            for kind in ("alpha", "beta")
        },
    )
    page = http.get("/", params={"prefix": "alpha"}).text
    assert [sid for _, sid in _rows(page)] == ["alpha-2", "alpha-1", "alpha-0"]
    assert "no session id starting with" in http.get("/", params={"prefix": "gamma"}).text


def test_a_filtered_page_reads_a_bounded_number_of_records(shared_url: str) -> None:
    store_url = shared_url
    ids = [f"{'hit' if n % 10 == 0 else 'miss'}-{n:02}" for n in range(40)]
    seed(store_url, {sid: [{"role": "user", "content": "x"}] for sid in ids})

    async def pages() -> list[list[str]]:
        found: list[list[str]] = []
        async with open_store(store_url) as store:
            offset: int | None = 0
            while offset is not None:
                page = await index_page(
                    store, offset=offset, prefix="hit", page_size=2, scan_budget=15
                )
                assert page.scanned <= 15
                found.append([record.id for record in page.records])
                offset = page.next_offset
        return found

    found = asyncio.run(pages())
    assert [sid for page in found for sid in page] == ["hit-30", "hit-20", "hit-10", "hit-00"]
    assert [] not in found[:-1] or len(found) > 2  # budget pages may be empty, but the scan goes on


def test_hostile_ids_and_messages_are_text_in_every_page_and_link(
    client: tuple[str, httpx.Client],
) -> None:
    url, http = client
    seed(
        url,
        {
            sid: [{"role": "user", "content": HOSTILE_TEXT, "name": HOSTILE_TEXT}]
            for sid in HOSTILE_IDS
        },
        attributes={"title": HOSTILE_TEXT},
    )
    index = http.get("/").text
    assert "<img src=x" not in index and "<script>alert" not in index
    rows = _rows(index)
    assert sorted(sid for _, sid in rows) == sorted(HOSTILE_IDS)
    for href, sid in rows:
        page = http.get(href)
        assert page.status_code == 200, sid
        assert "<img src=x" not in page.text and "<script>alert" not in page.text
        assert f'<span class="sid">{html.escape(sid, quote=False)}</span>' in page.text.replace(
            "&#34;", '"'
        ).replace("&#39;", "'")
        assert html.escape(HOSTILE_TEXT, quote=False) in page.text
        download = http.get(href.replace("/session?", "/session.json?"))
        body = download.json()
        assert body["id"] == sid and body["messages"][0]["content"] == HOSTILE_TEXT
        assert download.headers["content-disposition"].startswith("attachment;")


def test_the_session_page_shows_every_part(client: tuple[str, httpx.Client]) -> None:
    url, http = client
    seed(url, {"agent": agent_transcript()}, attributes={"title": "Weather"})
    page = http.get("/session", params={"id": "agent"}).text
    assert re.search(r'<details class="call" id="m2-b1" data-call-id="call-1" open>', page)
    assert 'href="#m3-b0"' in page and 'href="#m2-b1"' in page  # call and result linked
    assert 'class="call failed"' in page and 'class="result error"' in page
    assert '<strong class="err">ERROR</strong>' in page
    assert "&#34;city&#34;: &#34;Oslo&#34;" in page
    assert 'src="data:image/png;base64,' in page
    assert '<details class="meta"><summary>metadata</summary>' in page
    assert "Weather" in page


def test_images_of_other_media_types_are_not_inlined(client: tuple[str, httpx.Client]) -> None:
    url, http = client
    block = {
        "type": "image",
        "source": {"type": "base64", "media_type": "text/html", "data": "PHNjcmlwdD4="},
    }
    seed(url, {"img": [{"role": "user", "content": [block]}]})
    page = http.get("/session", params={"id": "img"}).text
    assert "data:text/html" not in page and "unsupported type text/html" in page


def test_the_tail_returns_only_new_messages(client: tuple[str, httpx.Client]) -> None:
    url, http = client
    seed(url, {"live": [{"role": "user", "content": "first words"}]})
    empty = http.get("/api/tail", params={"id": "live", "start": 1}).json()
    assert empty["count"] == 1 and "first words" not in empty["html"] and not empty["reset"]
    append(url, "live", [{"role": "assistant", "content": HOSTILE_TEXT}])
    tail = http.get("/api/tail", params={"id": "live", "start": 1}).json()
    assert tail["count"] == 2 and 'id="m1"' in tail["html"] and "first words" not in tail["html"]
    assert html.escape(HOSTILE_TEXT, quote=False) in tail["html"] and "<img" not in tail["html"]
    assert http.get("/api/tail", params={"id": "live", "start": 5}).json()["reset"]
    assert http.get("/api/tail", params={"id": "nope", "start": 0}).status_code == 404


def test_unknown_and_invalid_ids_are_errors(client: tuple[str, httpx.Client]) -> None:
    _, http = client
    assert http.get("/session", params={"id": "missing"}).status_code == 404
    assert http.get("/session", params={"id": ""}).status_code == 400
    assert http.get("/", params={"offset": "x"}).status_code == 400


def test_every_response_carries_a_strict_csp(client: tuple[str, httpx.Client]) -> None:
    _, http = client
    for path in ("/", "/static/viewer.js", "/session?id=missing"):
        headers = http.get(path).headers
        assert headers["content-security-policy"] == CSP
        assert headers["x-content-type-options"] == "nosniff"
    assert "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP


def test_a_token_is_required_on_every_request(shared_url: str) -> None:
    seed(shared_url, {"s": [{"role": "user", "content": "hi"}]})
    with running_viewer(shared_url, token="sekret-token") as viewer:
        _check_token(viewer)


def _check_token(viewer: Viewer) -> None:
    with httpx.Client(base_url=viewer.base) as http:
        for path in ("/", "/session?id=s", "/api/tail?id=s", "/static/viewer.js"):
            assert http.get(path).status_code == 401, path
        assert http.get("/", params={"token": "wrong"}).status_code == 401
        assert http.get("/", headers={"x-sessionstore-token": "sekret-token"}).status_code == 200
        assert http.get("/", headers={"authorization": "Bearer sekret-token"}).status_code == 200
        visit = http.get("/session", params={"id": "s", "token": "sekret-token"})
        assert visit.status_code == 303 and visit.headers["location"] == "/session?id=s"
        assert "HttpOnly" in visit.headers["set-cookie"]
        assert http.get("/session", params={"id": "s"}).status_code == 200  # the cookie now


def test_off_loopback_a_token_is_made() -> None:
    assert require_token("127.0.0.1", None) is None
    assert require_token("::1", None) is None
    assert require_token("localhost", "mine") == "mine"
    made = require_token("0.0.0.0", None)
    assert made is not None and len(made) >= 32
    assert require_token("0.0.0.0", None) != made


def test_serve_without_the_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from cli_support import invoke

    monkeypatch.setitem(sys.modules, "uvicorn", None)
    monkeypatch.delitem(sys.modules, "sessionstore.web.server", raising=False)
    result = invoke("serve", "--url", "memory://")
    assert result.exit_code == 1
    assert "pip install 'sessionstore[web]'" in result.output


def test_a_long_transcript_shows_its_newest_messages_first(
    client: tuple[str, httpx.Client],
) -> None:
    url, http = client
    total = PAGE_MESSAGES + 5
    seed(url, {"long": [{"role": "user", "content": f"message {n}"} for n in range(total)]})
    page = http.get("/session", params={"id": "long"}).text
    assert 'id="m5"' in page and 'id="m4"' not in page and f'id="m{total - 1}"' in page
    assert f"Show all {total}" in page
    every = http.get("/session", params={"id": "long", "all": "1"}).text
    assert 'id="m0"' in every and "Show all" not in every


def test_the_serve_command_serves_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    seed(url, {"<b>served</b>": [{"role": "user", "content": "hello"}]})
    port = free_port()
    main = "from sessionstore.cli import main; main()"
    command = [sys.executable, "-c", main, "serve", "--url", url, "--port", str(port)]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as server:
        try:
            assert server.stderr is not None
            banner = server.stderr.readline()
            assert f"on http://127.0.0.1:{port}/" in banner and "token" not in banner
            page = _get_when_up(f"http://127.0.0.1:{port}/")
            assert "&lt;b&gt;served&lt;/b&gt;" in page
        finally:
            server.terminate()
            server.wait(timeout=30)


def _get_when_up(address: str) -> str:
    for _ in range(300):
        try:
            return httpx.get(address).text
        except httpx.ConnectError:
            time.sleep(0.05)
    raise AssertionError(f"nothing answered at {address}")


def test_serve_reports_a_bad_store_url_in_one_line() -> None:
    from cli_support import invoke

    result = invoke("serve", "--url", "nosuch://x")
    assert result.exit_code == 1
    assert result.output.startswith("sessionstore: error:") and result.output.count("\n") == 1


def test_without_a_token_only_loopback_host_names_are_answered(
    client: tuple[str, httpx.Client],
) -> None:
    _, http = client
    for host in ("127.0.0.1:8765", "localhost", "[::1]:80", "127.0.0.5"):
        assert http.get("/", headers={"host": host}).status_code == 200, host
    for host in ("rebound.example:8765", "10.0.0.1", ""):
        assert http.get("/", headers={"host": host}).status_code == 400, host


def test_a_viewer_sees_its_namespace_only(shared_url: str) -> None:
    seed(shared_url, {"outside": [{"role": "user", "content": "x"}]})
    seed(shared_url, {"inside": [{"role": "user", "content": "x"}]}, namespace="acme")
    with running_viewer(shared_url, namespace="acme") as viewer:
        page = httpx.get(viewer.base + "/").text
        assert [sid for _, sid in _rows(page)] == ["inside"]
        assert "namespace <code>acme</code>" in page
        assert httpx.get(viewer.base + "/session?id=outside").status_code == 404


def test_hostile_tool_names_ids_metadata_and_media_types_are_text(
    client: tuple[str, httpx.Client],
) -> None:
    url, http = client
    evil = HOSTILE_TEXT + '"><script>alert(2)</script>'
    image = {"type": "image", "source": {"type": "base64", "media_type": evil, "data": "AAAA"}}
    call = {"type": "tool_use", "id": evil, "name": evil, "input": {evil: evil}}
    result = {"type": "tool_result", "tool_use_id": evil, "content": evil, "is_error": True}
    messages = [
        {"role": "user", "content": [image], "name": evil, "metadata": {evil: evil}},
        {"role": "assistant", "content": [call]},
        {"role": "tool", "content": [result]},
    ]
    seed(url, {"tools": messages}, attributes={evil: evil, "title": evil})
    for path in ("/session", "/api/tail"):
        body = http.get(path, params={"id": "tools", "start": "0"}).text
        assert "<img" not in body and "<script>" not in body and "data:" not in body, path
    page = http.get("/session", params={"id": "tools"}).text
    assert 'href="#m1-b0"' in page and 'href="#m2-b0"' in page  # still matched by the hostile id
