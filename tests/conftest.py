"""Shared fixtures: a sandbox on loopback with fast processing, and a factory for variants of it; each test
marked with its kind, the folder it lives in."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from qamera_widgets.sandbox import Sandbox, start

TESTS = Path(__file__).resolve().parent
# What each folder holds (the markers are registered in pyproject.toml): `pytest -m unit` and so on.
KINDS = ("unit", "loopback", "system", "browser")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks every test with its folder's kind; a test file outside those folders is an error."""
    for item in items:
        path = item.path.resolve()
        kind = path.relative_to(TESTS).parts[0] if path.is_relative_to(TESTS) else None
        if kind not in KINDS:
            raise pytest.UsageError(
                f"{item.nodeid}: a test lives in tests/{'|'.join(KINDS)}, by what it needs"
            )
        item.add_marker(kind)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `pytest -n N` (scripts/test) a worker takes all the browser tests, in order: they share the
    session's sandbox and JupyterLab, and two Chromiums, each with its servers, would starve each other. A
    system module goes to one worker whole, so its module fixtures (every notebook executed, a wheel built)
    are made once; every other test is a unit of its own. Units go out biggest first, to whichever worker
    is free. (xdist's `--dist loadgroup` groups by a mark, but rewrites Item._nodeid, which pytest 9.2 no
    longer reads.)"""
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class ByKind(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith("tests/browser/"):
                return "tests/browser"
            if nodeid.startswith("tests/system/"):
                return nodeid.split("::", 1)[0]
            return nodeid

    return ByKind(config, log)


FAST_SANDBOX: dict[str, Any] = {
    "seed": 1234,
    "processing_seconds": (0.05, 0.2),
    "failure_rate": 0.0,
    # Tests poll far faster than a person; the limiter has its own tests (`make_sandbox(rate_limit=...)`).
    "rate_limit": None,
}


@pytest.fixture(scope="module")
def module_sandboxes() -> Iterator[dict[str, Sandbox]]:
    """The sandboxes a module's `shared_sandbox` tests share, one per set of `start()` options; they stop
    after the module's last test."""
    shared: dict[str, Sandbox] = {}
    yield shared
    for handle in shared.values():
        handle.stop()


@pytest.fixture
def make_sandbox(request: pytest.FixtureRequest) -> Iterator[Callable[..., Sandbox]]:
    """`make_sandbox(**options)` starts a sandbox (FAST_SANDBOX plus the options); all stop at teardown.

    In a test marked `shared_sandbox` it hands out the module's sandbox for those options instead (started
    by the first such test, see `module_sandboxes`), and so do `sandbox`, `slow_sandbox` and `gallery_for`,
    which start theirs here. Mark only a test that needs some sandbox, not a fresh one: one that counts
    nothing on it from zero (requests, records, credits of its first key), changes no fault, stops or
    restarts nothing, and registers nothing where another marked test of the module lists."""
    shared: dict[str, Sandbox] | None = None
    if request.node.get_closest_marker("shared_sandbox"):
        shared = request.getfixturevalue("module_sandboxes")
    started: list[Sandbox] = []

    def make(**options: Any) -> Sandbox:
        settings = {**FAST_SANDBOX, **options}
        if shared is None:
            started.append(start(**settings))
            return started[-1]
        key = repr(sorted(settings.items()))
        if key not in shared:
            shared[key] = start(**settings)
        return shared[key]

    yield make
    for handle in reversed(started):
        handle.stop()


@pytest.fixture
def sandbox(request: pytest.FixtureRequest, make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    """A fresh sandbox per test (the module's, in a `shared_sandbox` test); parametrise indirectly with a
    dict of `start()` options to change it."""
    return make_sandbox(**getattr(request, "param", {}))


@pytest.fixture
def slow_sandbox(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    """A sandbox whose jobs take 5 to 6 s, so they are still unfinished while the test acts on them."""
    return make_sandbox(processing_seconds=(5.0, 6.0))


def _wait_until_terminal(
    handle: Sandbox, ids: Sequence[str], *, api_key: str | None = None, timeout: float = 30.0
) -> dict[str, dict[str, Any]]:
    """Poll the list until every id is DONE or FAILED; returns those records by id."""
    deadline = time.monotonic() + timeout
    wanted = set(ids)
    while True:
        response = httpx.get(
            f"{handle.base_url}/api/external/sceneries",
            headers={"X-Api-Key": api_key or handle.api_key},
            timeout=10,
        )
        response.raise_for_status()
        records = {item["id"]: item for item in response.json()["sceneries"] if item["id"] in wanted}
        if len(records) == len(wanted) and all(r["status"] in ("DONE", "FAILED") for r in records.values()):
            return records
        if time.monotonic() > deadline:
            raise AssertionError(f"not terminal after {timeout} s: {records}")
        time.sleep(0.05)


@pytest.fixture
def wait_until_terminal() -> Callable[..., dict[str, dict[str, Any]]]:
    """`wait_until_terminal(sandbox, ids, api_key=None, timeout=30)`: the records once all have ended."""
    return _wait_until_terminal


def _assert_settled(handle: Sandbox, *, credits: int, done: int, failed: int) -> None:
    """Nothing is held once every record has ended: 10 credits consumed per DONE, refunded per FAILED."""
    assert handle.account() == {
        "available": credits - 10 * done,
        "reserved": 0,
        "consumed": 10 * done,
        "refunded": 10 * failed,
    }
    assert handle.audit() == []


@pytest.fixture
def assert_settled() -> Callable[..., None]:
    """`assert_settled(sandbox, credits=, done=, failed=)`: the account of a start with `credits`
    after `done` records ended DONE and `failed` FAILED, and a clean audit."""
    return _assert_settled


@pytest.fixture(autouse=True)
def _private_store(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Every test's store and picture cache in a folder of its own, never the real user data dir, and
    closed afterwards (as a new kernel would start): nothing one test saved is seen by the next."""
    from qamera_widgets.engine.pictures.disk_cache import forget_caches
    from qamera_widgets.engine.review import mark_books
    from qamera_widgets.engine.store import forget_stores

    monkeypatch.setenv("QAMERA_WIDGETS_HOME", str(tmp_path_factory.mktemp("qw-home")))
    mark_books.clear()  # a book holds its store: a test's marks must not reach the next test's
    yield
    mark_books.clear()
    forget_stores()
    forget_caches()


@pytest.fixture
def widgets_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Journals go to the test's directory, never the real user data dir."""
    monkeypatch.setenv("QAMERA_WIDGETS_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
async def closing() -> AsyncIterator[list[Any]]:
    """Widgets, trackers and clients a test made, closed at teardown even when it fails."""
    from qamera_widgets.client import AsyncQameraClient
    from qamera_widgets.engine.jobs.tracking import tracker_for

    things: list[Any] = []
    yield things
    for thing in reversed(things):
        if isinstance(thing, AsyncQameraClient):
            await tracker_for(thing).close()
            await thing.aclose()
        else:
            thing.close()


@pytest.fixture
def gallery_px() -> int:
    """The thumbnail size `gallery_for` asks for; a module overrides this fixture to test another size."""
    return 96


@pytest.fixture
async def gallery_for(
    make_sandbox: Callable[..., Sandbox], gallery_px: int
) -> AsyncIterator[Callable[..., Any]]:
    """`await gallery_for(library=N, sandbox=None, sandbox_options=None, **gallery_options)`: a refreshed
    gallery and its sandbox (a new one unless given), closed with its client at teardown."""
    from qamera_widgets.client import AsyncQameraClient
    from qamera_widgets.widgets.gallery import SceneryGallery

    made: list[tuple[SceneryGallery, AsyncQameraClient]] = []

    async def make(
        library: int = 6,
        sandbox: Sandbox | None = None,
        sandbox_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> tuple[SceneryGallery, Sandbox]:
        sandbox = sandbox or make_sandbox(library=library, **(sandbox_options or {}))
        client = AsyncQameraClient(sandbox.api_key, sandbox.base_url, max_retries=0)
        options.setdefault("thumb_px", gallery_px)
        gallery = SceneryGallery(client, autoload=False, **options)
        made.append((gallery, client))
        await gallery.refresh()
        return gallery, sandbox

    yield make
    for gallery, client in made:
        gallery.close()
        await gallery.loader.aclose()
        await client.aclose()


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every template `_parse` was given: the work a template caused."""
    from qamera_widgets.engine.jobs import templates as variants

    seen: list[int] = []
    original = variants._parse

    def counting(template: str) -> list[str | tuple[str, ...]]:
        seen.append(len(template))
        return original(template)

    monkeypatch.setattr(variants, "_parse", counting)
    return seen
