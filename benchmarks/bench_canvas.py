"""The results canvas against the three measures of issue 14, each as a ratio to a baseline of the same run.

Run from the repository root (loopback only; nothing is written into the repository):

    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.bench_canvas            # all three, about 2-3 min
    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.bench_canvas --only bytes,models   # no browser

1. ``paint``: in JupyterLab driven by Debian's Chromium (Playwright), the time from the Shift+Enter that
   runs a cell to 48 real thumbnails painted (``img.complete``, ``naturalWidth > 0``, a non-zero box),
   for ``SceneryGallery(client, page_size=48)`` against a plain ``IPython.display.HTML`` grid of
   ``<img src=CDN url>`` for the same 48 sceneries. Both run in one Lab page and one kernel, alternating,
   on a sandbox of this process with 50 ms of CDN latency (the kernel reaches it through
   QAMERA_API_KEY / QAMERA_BASE_URL / QAMERA_SANDBOX_ADMIN_TOKEN, set by qamera_widgets.serving as
   for the browser tests).
   The grid cell lists the sceneries through the same client first, as the gallery does; a second grid
   whose URLs are known before its cell runs is shown as a stricter reference. Every grid run appends a
   fresh query string, so the browser's cache never serves a picture; every gallery makes a fresh
   thumbnail loader. Target: canvas at most 1.0x the grid.
2. ``models``: widget models of a Studio after 1 batch and after 50 (the Studio, everything reachable
   from its synced traits: children, Layout and Style models; and the growth of the ipywidgets
   registry). Target: at most 15, and the same after 50 as after 1.
3. ``bytes``: what the kernel sends over the comm for a 48-card gallery page, beyond the one-time
   ``_esm``/``_css``: state (the comm_open and every update), "patch" messages and "thumbs" buffers,
   counted by a comm that serializes each message as ipykernel's Session would. The browser is played
   as canvas.js plays it. Against the sum of the thumbnail bytes. Target: at most 1.2x.

No timed assertions: the script prints figures and says plainly which target is met.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import comm
import httpx
import ipywidgets
from comm.base_comm import BaseComm
from ipywidgets.widgets.widget import _instances  # what the deprecated Widget.widgets returns
from jupyter_client.session import Session

from qamera_widgets.client import AsyncQameraClient
from qamera_widgets.engine.jobs.journal import Journal
from qamera_widgets.sandbox import Sandbox, start
from qamera_widgets.serving import free_port
from qamera_widgets.widgets import SceneryGallery, Studio
from tests.helpers.jupyter import isolated_jupyter_env, lab_settings_dir, open_jupyter_command, running_server
from tests.helpers.listing import thumbnail_urls

PAGE = 48
LATENCY_MS = 50.0
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ONE_TIME = ("_esm", "_css")


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def table(rows: Sequence[tuple[str, str]]) -> str:
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


def warm_cdn(sandbox: Sandbox) -> list[str]:
    """The sandbox renders a picture the first time it is asked for it: do that before any timing."""
    urls = thumbnail_urls(sandbox, timeout=60)
    with httpx.Client(timeout=60) as http:
        for url in urls:
            http.get(url).raise_for_status()
    return urls


# ---------------------------------------------------------------------------------------------------
# 3. bytes over the comm
# ---------------------------------------------------------------------------------------------------


@dataclass
class Sent:
    """One kernel-to-browser comm message as counted: JSON payload, buffers and the whole wire message."""

    kind: str
    payload: int
    buffers: int
    wire: int
    one_time: int = 0
    traits: dict[str, int] = field(default_factory=dict)


class RecordingComm(BaseComm):
    """A comm that keeps, for each message, the bytes ipykernel's Session would put on the wire.

    ``listeners`` play the browser side: they see every message the kernel sends on this comm.
    """

    session = Session(key=uuid.uuid4().hex.encode(), username="kernel")
    parent = session.msg("comm_msg", {"comm_id": "x", "data": {"kind": "want"}})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sent: list[Sent] = []
        self.listeners: list[Callable[[str, dict[str, Any], list[bytes]], None]] = []
        super().__init__(*args, **kwargs)

    def publish_msg(
        self,
        msg_type: str,
        data: Any = None,
        metadata: Any = None,
        buffers: Any = None,
        **keys: Any,
    ) -> None:
        data = {} if data is None else data
        blobs = [bytes(b) for b in (buffers or [])]
        content = dict(data=data, comm_id=self.comm_id, **keys)
        msg = self.session.msg(msg_type, content, parent=self.parent, metadata=metadata or {})
        frames = self.session.serialize(msg)
        buffer_bytes = sum(len(b) for b in blobs)
        wire = sum(len(f) for f in frames) + buffer_bytes
        payload = len(json.dumps(data, separators=(",", ":"), default=str).encode())
        state = data.get("state") if isinstance(data, dict) else None
        traits = {}
        one_time = 0
        if isinstance(state, dict):
            traits = {k: len(json.dumps(v, separators=(",", ":")).encode()) for k, v in state.items()}
            one_time = sum(traits.pop(k, 0) for k in ONE_TIME)
        if msg_type == "comm_msg" and data.get("method") == "custom":
            kind = f"custom:{data.get('content', {}).get('kind', '?')}"
        elif msg_type == "comm_msg":
            kind = f"state:{data.get('method', '?')}"
        else:
            kind = msg_type
        self.sent.append(Sent(kind, payload - one_time, buffer_bytes, wire - one_time, one_time, traits))
        for listener in list(self.listeners):
            listener(msg_type, data, blobs)


@contextlib.contextmanager
def recording_comms() -> Iterator[list[RecordingComm]]:
    made: list[RecordingComm] = []
    original = comm.create_comm

    def create(*args: Any, **kwargs: Any) -> RecordingComm:
        made.append(RecordingComm(*args, **kwargs))
        return made[-1]

    comm.create_comm = create
    try:
        yield made
    finally:
        comm.create_comm = original


class PlayedView:
    """The browser half of canvas.js for one view: keeps the cards, asks for the thumbnails it lacks.

    As canvas.js does: "hello" when it renders, then after any change of the cards a "want" (on the
    next turn, like its setTimeout 0) for every card whose thumbnail version it neither has nor asked for.
    """

    def __init__(self, canvas: Any, channel: RecordingComm) -> None:
        self.canvas = canvas
        self.cards: dict[str, dict[str, Any]] = {}
        self.pictures: dict[str, int] = {}
        self.asked: dict[str, int] = {}
        self.wants = 0
        self._timer: asyncio.Handle | None = None
        channel.listeners.append(self._on_kernel)

    def render(self) -> None:
        self._set_cards(self.canvas.cards)  # the model's state when the view is created
        self.canvas._on_browser_message(self.canvas, {"kind": "hello", "ids": []}, [])

    def _set_cards(self, cards: Sequence[Mapping[str, Any]]) -> None:
        self.cards = {c["id"]: dict(c) for c in cards}
        self._ask()

    def _on_kernel(self, msg_type: str, data: dict[str, Any], buffers: list[bytes]) -> None:
        if msg_type != "comm_msg":
            return
        if data.get("method") == "update" and "cards" in data.get("state", {}):
            self._set_cards(data["state"]["cards"])
        elif data.get("method") == "custom":
            content = data.get("content", {})
            if content.get("kind") in ("patch", "thumbs"):
                for change in content.get("cards", []):
                    if change["id"] in self.cards:
                        self.cards[change["id"]].update(change)
                # A patch carries the new pictures for a view that said hello; "thumbs" answers a want.
                items = content.get("pictures") or []
                for item, blob in zip(items, buffers, strict=True):
                    card = self.cards.get(item["id"])
                    if card is not None and content["kind"] == "patch" and card.get("thumb", 0) < item["v"]:
                        card["thumb"] = item["v"]  # as canvas.js: a picture that rides along sets its version
                    if blob and item["v"] > self.pictures.get(item["id"], 0):
                        self.pictures[item["id"]] = item["v"]
                    self.asked.pop(item["id"], None)
                self._ask()

    def _ask(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_soon(self._send_want)

    def _send_want(self) -> None:
        self._timer = None
        ids = []
        for card in self.cards.values():
            version = card.get("thumb", 0)
            if not version or version in (self.pictures.get(card["id"]), self.asked.get(card["id"])):
                continue
            self.asked[card["id"]] = version
            ids.append(card["id"])
        if ids:
            self.wants += 1
            self.canvas._on_browser_message(self.canvas, {"kind": "want", "ids": ids, "preview": None}, [])

    def complete(self) -> bool:
        return all(c.get("thumb") and self.pictures.get(i) == c["thumb"] for i, c in self.cards.items())


async def settle(view: PlayedView | None = None, turns: int = 200) -> None:
    """Let scheduled patches (gathered over PATCH_WINDOW_SECONDS) and wants run out."""
    for _ in range(turns):
        await asyncio.sleep(0.005)
        if view is not None and view.complete() and view._timer is None:
            break


@dataclass
class BytesResult:
    scenario: str
    thumb_bytes: int
    messages: list[Sent]
    wants: int

    @property
    def wire(self) -> int:
        return sum(m.wire for m in self.messages)

    @property
    def payload(self) -> int:
        return sum(m.payload + m.buffers for m in self.messages)

    @property
    def one_time(self) -> int:
        return sum(m.one_time for m in self.messages)


async def gallery_bytes(sandbox: Sandbox, scenario: str) -> BytesResult:
    """One 48-card page on a fresh gallery; `scenario` decides when the played browser asks."""
    client = AsyncQameraClient(api_key=sandbox.api_key, base_url=sandbox.base_url, rate_limit_per_minute=None)
    try:
        with recording_comms() as made:
            gallery = SceneryGallery(client, page_size=PAGE)  # starts loading at once, as in a notebook
        # The Layout model opens its comm first; the view listens to the gallery's own comm.
        channel = next(c for c in made if c.comm_id == gallery.model_id)
        view: PlayedView | None = None
        if scenario == "live":
            # A view renders on display, before the list arrives, and follows every change.
            view = PlayedView(gallery, channel)
            asyncio.get_running_loop().call_soon(view.render)
            await gallery.refresh()
            await gallery.wait_idle()
            await settle(view)
            wants = view.wants
            if not view.complete():
                raise SystemExit("the played view did not receive every thumbnail")
        else:
            # What the brief prescribes: the page is loaded, then one "hello" and one "want" for every
            # card that has a thumbnail (a view that connects once everything is there).
            await gallery.refresh()
            await settle()
            gallery._on_browser_message(gallery, {"kind": "hello"}, [])
            ids = [c["id"] for c in gallery.cards if c.get("thumb", 0) > 0]
            gallery._on_browser_message(gallery, {"kind": "want", "ids": ids}, [])
            wants = 1
        thumbs = [gallery.thumbnail_of(c["id"]) for c in gallery.cards]
        if len(thumbs) != PAGE or not all(t is not None and t.placeholder is None for t in thumbs):
            raise SystemExit("the page did not hold 48 real thumbnails")
        thumb_bytes = sum(len(t.data) for t in thumbs if t is not None)
        sent = [m for c in made for m in c.sent]  # the gallery's and its Layout's
        gallery.close()
        await settle()
        return BytesResult(scenario, thumb_bytes, sent, wants)
    finally:
        await client.aclose()


def report_bytes(results: Sequence[BytesResult]) -> str:
    lines = ["3. Bytes sent over the comm for a 48-card page (beyond the one-time _esm/_css)"]
    for r in results:
        ratio = r.wire / r.thumb_bytes
        by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        traits: Counter[str] = Counter()
        for m in r.messages:
            by_kind[m.kind][0] += 1
            by_kind[m.kind][1] += m.wire
            traits.update(m.traits)
        title = {
            "live": "view rendered at display, a 'want' after each change (canvas.js timing)",
            "late": "page loaded first, then 'hello' + one 'want' for every card (the brief's recipe)",
        }[r.scenario]
        rows = [
            ("scenario", title),
            ("thumbnail bytes (48 JPEGs)", f"{r.thumb_bytes:9,d} B"),
            ("sent: whole wire messages (Session frames + buffers)", f"{r.wire:9,d} B"),
            ("sent: JSON payloads + buffers only", f"{r.payload:9,d} B"),
            ("one-time _esm + _css (left out)", f"{r.one_time:9,d} B"),
            ("messages / wants from the browser", f"{len(r.messages)} / {r.wants}"),
            ("ratio, wire / thumbnails (target <= 1.2x)", f"{ratio:9.2f}x   {verdict(ratio <= 1.2)}"),
            ("ratio, payload / thumbnails", f"{r.payload / r.thumb_bytes:9.2f}x"),
        ]
        for kind, (count, size) in sorted(by_kind.items(), key=lambda kv: -kv[1][1]):
            rows.append((f"  {kind} ({count} messages)", f"{size:9,d} B"))
        for name, size in traits.most_common(4):
            rows.append((f"    of which state trait {name!r}", f"{size:9,d} B"))
        lines.append(table(rows))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# 2. widget models in a studio
# ---------------------------------------------------------------------------------------------------


def reachable_models(root: ipywidgets.Widget) -> set[str]:
    """Every widget model reachable from `root` through synced traits: children, layout, style, ..."""
    seen: dict[str, ipywidgets.Widget] = {}
    stack = [root]
    while stack:
        widget = stack.pop()
        if widget.model_id in seen:
            continue
        seen[widget.model_id] = widget
        for name in widget.keys:
            value = getattr(widget, name, None)
            values = value if isinstance(value, list | tuple) else [value]
            stack.extend(v for v in values if isinstance(v, ipywidgets.Widget))
    return set(seen)


@dataclass
class ModelCount:
    batches: int
    reachable: int
    registry_growth: int
    runs_drawn: int
    folded: int
    cards: int
    board_state_bytes: int


async def studio_models(batches: int, per_batch: int) -> tuple[ModelCount, ModelCount]:
    with (
        start(
            credits=10 * per_batch * batches + 1000,
            seed=5,
            library=12,
            processing_seconds=(0.05, 0.3),
            failure_rate=0.1,
            rate_limit=None,
            worker_concurrency=8,
        ) as sandbox,
        tempfile.TemporaryDirectory(prefix="qw-bench-studio-", ignore_cleanup_errors=True) as scratch,
    ):
        home = Path(scratch)
        client = AsyncQameraClient(
            api_key=sandbox.api_key, base_url=sandbox.base_url, rate_limit_per_minute=None
        )
        try:
            before = len(_instances)
            studio = Studio(client, sandbox=sandbox, journal=Journal(Path(home) / "journal.jsonl"))

            def count(done: int) -> ModelCount:
                state = studio.board.get_state()
                for key in ONE_TIME:
                    state.pop(key, None)
                return ModelCount(
                    batches=done,
                    reachable=len(reachable_models(studio)),
                    registry_growth=len(_instances) - before,
                    runs_drawn=len(studio.board.runs),
                    folded=int(studio.board.folded_runs.get("count", 0) or 0),
                    cards=len(studio.board.cards),
                    board_state_bytes=len(json.dumps(state, default=str)),
                )

            async def submit(n: int) -> None:
                studio.form.prompt = f"Benchmark run {n}: pale stone plinth, soft daylight, long shadow"
                studio.form.count = per_batch
                if await studio.form.submit() is None:
                    raise SystemExit(f"batch {n} was not registered: {studio.form.status}")

            await submit(1)
            await studio.wait_idle(timeout=120)
            first = count(1)
            for n in range(2, batches + 1):
                await submit(n)
            await studio.wait_idle(timeout=300)
            last = count(batches)
            studio.close()
            await settle()
            return first, last
        finally:
            await client.aclose()


def report_models(first: ModelCount, last: ModelCount) -> str:
    worst = max(first.reachable, first.registry_growth, last.reachable, last.registry_growth)
    equal = (first.reachable, first.registry_growth) == (last.reachable, last.registry_growth)
    rows = [
        ("", f"{f'after {first.batches} batch':>16} {f'after {last.batches} batches':>18}"),
        ("models reachable from the Studio", f"{first.reachable:>16} {last.reachable:>18}"),
        ("growth of the ipywidgets registry", f"{first.registry_growth:>16} {last.registry_growth:>18}"),
        (
            "runs drawn in full / folded into one line",
            f"{first.runs_drawn:>13} / {first.folded:<2}{last.runs_drawn:>15} / {last.folded:<2}",
        ),
        ("cards on the board", f"{first.cards:>16} {last.cards:>18}"),
        (
            "board state without _esm/_css",
            f"{first.board_state_bytes:>14,d} B {last.board_state_bytes:>16,d} B",
        ),
        (
            "target: at most 15 and equal",
            f"{verdict(worst <= 15 and equal)} (at most {worst}, {'equal' if equal else 'NOT equal'})",
        ),
    ]
    return "2. Widget models in a Studio\n" + table(rows)


# ---------------------------------------------------------------------------------------------------
# 1. paint time in JupyterLab
# ---------------------------------------------------------------------------------------------------

SETUP_CELL = """\
from IPython.display import HTML
from qamera_widgets.client import AsyncQameraClient
from qamera_widgets.widgets import SceneryGallery
from qamera_widgets.widgets.gallery import filter_and_sort

client = AsyncQameraClient(rate_limit_per_minute=None)  # QAMERA_API_KEY and QAMERA_BASE_URL from the env
run = 0
gallery = None

def newest(sceneries):
    return filter_and_sort(sceneries, state="all", search="", order="newest")[:48]

def grid(urls, run):
    # A fresh query string per run: the browser's cache never serves a picture.
    tags = "".join(
        f'<img class="bench-grid-img" src="{u}{"&" if "?" in u else "?"}run={run}" width="176" '
        f'height="176" alt="scenery" style="object-fit:cover">'
        for u in urls
    )
    return HTML('<div style="display:grid;grid-template-columns:repeat(auto-fill,minmax(176px,1fr));'
                f'gap:8px">{tags}</div>')

KNOWN = [s.thumbnail for s in newest(await client.list_sceneries())]
print("ready", len(KNOWN))
"""

CELLS = {
    "grid": """\
run += 1
grid([s.thumbnail for s in newest(await client.list_sceneries())], run)
""",
    "grid-known": """\
run += 1
grid(KNOWN, run)
""",
    "canvas": """\
if gallery is not None:
    gallery.close()
gallery = SceneryGallery(client, page_size=48)
gallery
""",
}
SELECTORS = {"grid": "img.bench-grid-img", "grid-known": "img.bench-grid-img", "canvas": "img.qw-thumb-real"}
# What counts as "the 48 places are on the page": card elements for the canvas, the <img> tags for the grid.
DRAWN = {"grid": "img.bench-grid-img", "grid-known": "img.bench-grid-img", "canvas": ".qw-card"}

NOTEBOOK = "Shift+Enter from key press until every picture is painted, measured inside the page (rAF)."

KERNEL_IDLE = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return Boolean(k) && k.status === 'idle'; }"""

# Arms the stopwatch for one cell: t0 at the Shift+Enter keydown, t1 at the first animation frame in
# which `count` pictures in that cell's output are loaded, decoded and laid out with a non-zero box.
ARM = """([index, selector, count, drawnSelector]) => {
  const cell = window.jupyterapp.shell.currentWidget.content.widgets[index];
  window.__benchT0 = null; window.__benchT1 = null; window.__benchDrawn = null; window.__benchFirst = null;
  const onKey = (e) => { if (e.key === 'Enter' && e.shiftKey && window.__benchT0 === null)
                           window.__benchT0 = performance.now(); };
  document.addEventListener('keydown', onKey, true);
  const painted = () => {
    const imgs = cell.outputArea.node.querySelectorAll(selector);
    if (imgs.length < count) return false;
    let n = 0;
    for (const img of imgs) {
      const box = img.getBoundingClientRect();
      if (img.complete && img.naturalWidth > 0 && box.width > 0 && box.height > 0) n += 1;
    }
    if (n > 0 && window.__benchFirst === null) window.__benchFirst = performance.now();
    return n >= count;
  };
  const tick = () => {
    if (window.__benchT0 !== null && window.__benchDrawn === null &&
        cell.outputArea.node.querySelectorAll(drawnSelector).length >= count) {
      window.__benchDrawn = performance.now();
    }
    if (window.__benchT0 !== null && painted()) {
      window.__benchT1 = performance.now();
      document.removeEventListener('keydown', onKey, true);
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""

NO_OUTPUTS = """() => [...document.querySelectorAll('.jp-Notebook .jp-OutputArea')]
  .every(area => area.querySelectorAll('img').length === 0)"""


def save_notebook(path: Path, sources: Sequence[str]) -> None:
    """A Python 3 notebook of code cells c0, c1, ... with these sources and no outputs."""
    cells: list[dict[str, Any]] = [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": f"c{i}",
            "metadata": {},
            "outputs": [],
            "source": text,
        }
        for i, text in enumerate(sources)
    ]
    kernelspec = {"display_name": "Python 3", "language": "python", "name": "python3"}
    notebook = {"cells": cells, "metadata": {"kernelspec": kernelspec}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(notebook, indent=1))


def write_notebook(path: Path) -> list[str]:
    """The benchmark's notebook: setup, the three timed cells, an empty cell for Shift+Enter to land on."""
    order = ["setup", *CELLS, "end"]
    sources = {"setup": SETUP_CELL, **CELLS, "end": ""}
    save_notebook(path, [sources[name] for name in order])
    return order


@contextlib.contextmanager
def jupyter_lab(root: Path, sandbox: Sandbox) -> Iterator[str]:
    """A JupyterLab of our own in a temp dir; the sandbox reaches its kernels through the environment."""
    env = isolated_jupyter_env(root, sandbox)
    # Every cell is rendered: a windowed notebook could skip painting an output scrolled out of view.
    tracker = lab_settings_dir(root) / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port = free_port()
    command = open_jupyter_command("lab", port, root, root / "nb")
    with running_server(
        command, port=port, log=root / "lab.log", env=env, cwd=root / "nb", ready_path="/api/status"
    ) as url:
        yield url


@contextlib.contextmanager
def lab_page(
    root: Path, sandbox: Sandbox, notebook: str, *, width: int, setup: Callable[[], None] | None = None
) -> Iterator[Any]:
    """A Chromium page on `notebook` (under root/nb) in a Lab of our own, its kernel idle: one setup.
    `setup` runs once Lab is up (its environment made), before the page opens."""
    from playwright.sync_api import sync_playwright

    with jupyter_lab(root, sandbox) as url, sync_playwright() as p:
        if setup is not None:
            setup()
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                # Nothing but loopback resolves. No page.route: routing disables the HTTP cache and
                # adds a round trip through Playwright to every picture of the grid.
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            ],
        )
        try:
            page = browser.new_context(viewport={"width": width, "height": 1000}).new_page()
            page.goto(f"{url}/lab/tree/{notebook}?reset", wait_until="domcontentloaded")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
            page.wait_for_function(KERNEL_IDLE, timeout=90_000)
            yield page
        finally:
            browser.close()


def run_first_cell(page: Any) -> None:
    """Select the first cell as a person would (click its prompt, Escape) and press Shift+Enter."""
    page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("Shift+Enter")


@dataclass
class Timing:
    """Seconds from the Shift+Enter: to the 48 places drawn, to the first picture, to the last."""

    drawn: float
    first: float
    last: float


def run_cell(
    page: Any, index: int, selector: str | None, drawn: str = "", count: int = PAGE
) -> Timing | None:
    """Select cell `index` as a person would (click, Escape), press Shift+Enter; seconds to painted."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.wait_for_function(NO_OUTPUTS, timeout=30_000)
    page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    if selector is not None:
        page.evaluate(ARM, [index, selector, count, drawn])
    page.keyboard.press("Shift+Enter")
    if selector is None:
        return None
    page.wait_for_function("() => window.__benchT1 !== null", timeout=120_000, polling=100)
    marks: list[float] = page.evaluate(
        "() => [window.__benchDrawn, window.__benchFirst, window.__benchT1]"
        ".map(t => (t - window.__benchT0) / 1000)"
    )
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    return Timing(*marks)


@dataclass
class PaintResult:
    times: dict[str, list[Timing]]
    first: dict[str, Timing]


def paint(runs: int) -> PaintResult:
    if not Path(CHROMIUM).exists():
        raise SystemExit("Debian's chromium is not installed: apt-get install -y chromium")

    with (
        start(library=PAGE, cdn_latency_ms=0, rate_limit=None, seed=7, failure_rate=0.0) as sandbox,
        tempfile.TemporaryDirectory(prefix="qw-bench-lab-", ignore_cleanup_errors=True) as scratch,
    ):
        root = Path(scratch)
        urls = warm_cdn(sandbox)
        if len(urls) != PAGE:
            raise SystemExit(f"the sandbox library has {len(urls)} pictures, not {PAGE}")
        sandbox.set_faults(cdn_latency_ms=LATENCY_MS)
        (root / "nb").mkdir()
        order = write_notebook(root / "nb" / "bench.ipynb")
        times: dict[str, list[Timing]] = {name: [] for name in CELLS}
        first: dict[str, Timing] = {}
        with lab_page(root, sandbox, "bench.ipynb", width=1400) as page:
            run_cell(page, order.index("setup"), None)
            ready = page.locator(".jp-Notebook .jp-Cell").nth(0).get_by_text(f"ready {PAGE}")
            ready.wait_for(timeout=60_000)
            page.wait_for_function(KERNEL_IDLE, timeout=60_000)
            names = list(CELLS)
            for round_ in range(runs + 1):  # round 0 warms the kernel and the browser: reported apart
                rotated = names[round_ % len(names) :] + names[: round_ % len(names)]
                for name in rotated:
                    elapsed = run_cell(page, order.index(name), SELECTORS[name], DRAWN[name])
                    assert elapsed is not None
                    if round_ == 0:
                        first[name] = elapsed
                    else:
                        times[name].append(elapsed)
                    page.wait_for_timeout(300)
        credentials = sandbox.stats().get("cdn_requests_with_credentials", 0)
        if credentials:
            raise SystemExit(f"the CDN saw credentials on {credentials} requests")
        return PaintResult(times, first)


def report_paint(r: PaintResult) -> str:
    med = {name: statistics.median(t.last for t in values) for name, values in r.times.items()}
    ratio = med["canvas"] / med["grid"]
    rows = [
        (
            "setup",
            f"JupyterLab + Chromium 1400x1000, sandbox of {PAGE} pictures, CDN latency "
            f"{LATENCY_MS:.0f} ms, {len(r.times['canvas'])} timed runs each after 1 warm-up",
        ),
    ]
    labels = {
        "grid": "HTML grid of <img src=CDN>, cell lists the sceneries",
        "grid-known": "HTML grid of <img src=CDN>, URLs known before the cell",
        "canvas": "SceneryGallery(client, page_size=48)",
    }
    for name, label in labels.items():
        values = ", ".join(f"{t.last:.2f}" for t in r.times[name])
        rows.append((label, f"median {med[name]:6.3f} s   (runs {values}; warm-up {r.first[name].last:.2f})"))
        drawn = statistics.median(t.drawn for t in r.times[name])
        first = statistics.median(t.first for t in r.times[name])
        rows.append(("  medians: 48 places drawn / first picture painted", f"{drawn:6.3f} s / {first:.3f} s"))
    rows.append(("canvas / grid (target <= 1.0x)", f"{ratio:6.2f}x   {verdict(ratio <= 1.0)}"))
    rows.append(("canvas / grid with URLs known", f"{med['canvas'] / med['grid-known']:6.2f}x"))
    return "1. Shift+Enter to 48 real thumbnails painted, JupyterLab\n" + table(rows)


# ---------------------------------------------------------------------------------------------------


async def in_process(measures: set[str], batches: int, per_batch: int) -> list[str]:
    out = []
    if "models" in measures:
        first, last = await studio_models(batches, per_batch)
        out.append(report_models(first, last))
    if "bytes" in measures:
        with start(library=PAGE, cdn_latency_ms=0, rate_limit=None, seed=7, failure_rate=0.0) as sandbox:
            await asyncio.to_thread(warm_cdn, sandbox)
            sandbox.set_faults(cdn_latency_ms=LATENCY_MS)
            results = [await gallery_bytes(sandbox, "late"), await gallery_bytes(sandbox, "live")]
        out.append(report_bytes(results))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", default="paint,models,bytes", help="comma-separated: paint, models, bytes")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each cell in JupyterLab")
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--per-batch", type=int, default=2)
    args = parser.parse_args()
    measures = {m.strip() for m in args.only.split(",") if m.strip()}
    unknown = measures - {"paint", "models", "bytes"}
    if unknown:
        parser.error(f"unknown measures: {', '.join(sorted(unknown))}")
    print(f"bench_canvas {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores")
    os.environ.setdefault("QAMERA_WIDGETS_HOME", tempfile.mkdtemp(prefix="qw-bench-home-"))
    for block in asyncio.run(in_process(measures, args.batches, args.per_batch)):
        print(block, flush=True)
    if "paint" in measures:
        print(report_paint(paint(max(1, args.runs))), flush=True)


if __name__ == "__main__":
    main()
