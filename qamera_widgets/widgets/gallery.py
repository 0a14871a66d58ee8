"""SceneryGallery: the account's whole list as picture cards, with filters, search, sort and pages.

It is the results canvas in "library" mode: one widget model whatever the page size. Each card
carries the prompt that made it when this toolkit's journal knows it, so search finds pictures by
the words that produced them, and pictures of one batch keep the order the server created them in.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import traitlets

from ..client import AsyncQameraClient, Scenery
from ..engine.jobs.journal import Journal
from ..engine.pictures.loader import ThumbnailLoader
from ..engine.review.export import service_vote
from ..engine.search import matches as search_matches
from ..engine.search import parse_query
from ..engine.wording import describe_error
from ..runtime.loops import wait_for_tasks
from . import protocol
from .basics import AnyClient, Callbacks, as_async_client, logger, loop_running
from .canvas import ResultsCanvas

__all__ = ["SceneryGallery", "filter_and_sort"]

API_FILTERS = ("all", "approved")
VOTE_FILTERS = ("all", "approved", "rejected", "not reviewed")
STATE_FILTERS = ("all", "done", "in progress", "failed")
SORTS = ("newest", "oldest", "name", "rating")

EMPTY_MESSAGE = "No sceneries yet: generate some with the prompt form."
NO_MATCH_MESSAGE = "No sceneries match these filters."
LOADING_MESSAGE = "Loading sceneries…"
SLOW_MESSAGE = "Still waiting for the server: it is slow or rate limiting us, and the client is retrying."
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _matches_state(scenery: Scenery, state: str) -> bool:
    if state == "done":
        return scenery.is_done
    if state == "failed":
        return scenery.is_failed
    if state == "in progress":
        return not scenery.is_terminal
    return not scenery.is_failed  # "all": failed ones only when the filter asks for them


def shown_text(start: int, shown: int, matching: int, loaded: Sequence[Scenery], state: str) -> str:
    """What the library shows: "1-24 of 58" (the page of what matches), how many are loaded when a
    filter leaves some out, and the failed pictures that "all" does not show."""
    text = f"{start + 1}-{start + shown} of {matching}" if shown else f"0 of {matching}"
    failed = sum(s.is_failed for s in loaded) if state == "all" else 0
    if matching != len(loaded) - failed:
        text += f" · {len(loaded)} loaded"
    if failed:
        text += f" · {failed} failed not shown"
    return text


def filter_and_sort(
    sceneries: Sequence[Scenery],
    *,
    state: str,
    search: str,
    order: str,
    prompts: Mapping[str, str] | None = None,
    positions: Mapping[str, int] | None = None,
) -> list[Scenery]:
    """The library's local view: status filter, search in name and prompt, then sort.

    ``positions`` orders sceneries that share a creation time (one batch): the place the server gave
    each in ``createdRecordIds`` when known, otherwise the list's own order, never the random ids.
    """
    prompts = prompts or {}
    needle = parse_query(search)
    index = {s.id: n for n, s in enumerate(sceneries)}
    rank = {i: positions.get(i, p) for i, p in index.items()} if positions else index

    def matches(s: Scenery) -> bool:
        if not _matches_state(s, state):
            return False
        return search_matches(needle, s.name, prompts.get(s.id, ""))

    kept = [s for s in sceneries if matches(s)]
    if order == "name":
        return sorted(kept, key=lambda s: (s.name.casefold(), rank[s.id]))
    sign = -1 if order == "newest" else 1
    # Undated items go last in both directions; one batch keeps its server order both ways.
    return sorted(
        kept,
        key=lambda s: (
            s.created_at is None,
            sign * ((s.created_at or _EPOCH) - _EPOCH).total_seconds(),
            rank[s.id],
        ),
    )


MAX_SEARCH_CHARS = 500
"""Longer than any prompt the API takes: a search past it cannot match and only costs time."""


class SceneryGallery(ResultsCanvas):
    """The account's sceneries as picture cards: filters, search, sort, pages, selection, large view.

    ``client`` may be an ``AsyncQameraClient`` or a ``QameraClient``. Loading starts by itself (at
    construction when an event loop runs, as in Jupyter, otherwise on first display).
    ``await gallery.refresh()`` returns once the list it (or a newer refresh) fetched is shown and the
    page's thumbnails are loaded; ``await gallery.wait_idle()`` waits for whatever work is under way.
    """

    status_filter = traitlets.Enum(
        API_FILTERS, default_value="all", help="Which list the API returns: all sceneries or only approved."
    ).tag(sync=True)
    state_filter = traitlets.Enum(
        STATE_FILTERS, default_value="all", help="Local filter on the generation status of each scenery."
    ).tag(sync=True)
    vote_filter = traitlets.Enum(
        VOTE_FILTERS, default_value="all", help="Local filter on the service's review of each scenery."
    ).tag(sync=True)
    search = traitlets.Unicode("", help="Local, case-insensitive filter on names and prompts.").tag(sync=True)
    sort = traitlets.Enum(
        SORTS, default_value="newest", help="Order of the cards: newest, oldest, name, or your stars."
    ).tag(sync=True)
    page = traitlets.Int(0, help="The visible page, counted from 0.").tag(sync=True)
    page_count = traitlets.Int(1, help="How many pages the filtered list fills.").tag(sync=True)
    collapsed = traitlets.Bool(
        None, allow_none=True, help="Folded to its title line (True), open (False), not foldable (None)."
    ).tag(sync=True)
    count_text = traitlets.Unicode("", help="'N of M': shown after filtering, of all loaded.").tag(sync=True)

    browser_writable = ResultsCanvas.browser_writable | {
        "collapsed",
        "vote_filter",
        "status_filter",
        "state_filter",
        "search",
        "sort",
        "page",
    }
    only_ids: set[str] | None = None
    """When set, the library shows only these sceneries (a Studio in a class: its own jobs' pictures)."""

    def __init__(
        self,
        client: AnyClient,
        status_filter: str = "all",
        columns: int | None = None,
        thumb_px: int = 176,
        page_size: int = 24,
        *,
        loader: ThumbnailLoader | None = None,
        journal: Journal | None = None,
        autoload: bool = True,
        slow_after: float = 4.0,
        title: str = "",
    ) -> None:
        """``columns`` is accepted for older notebooks and ignored: columns follow the width now."""
        if status_filter not in API_FILTERS:
            raise ValueError(f"status_filter must be 'all' or 'approved', not {status_filter!r}.")
        if page_size < 1:
            raise ValueError("page_size must be at least 1.")
        self._client: AsyncQameraClient = as_async_client(client)
        self._journal = journal
        self.page_size = page_size
        self._slow_after = slow_after
        self._all: list[Scenery] | None = None
        self._view: list[Scenery] = []
        self._positions: dict[str, int] = {}
        self._generation = 0
        self._settled_generation = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._fetch_work: set[asyncio.Task[Any]] = set()
        self._prefetch: asyncio.Task[Any] | None = None
        self._quiet = False
        self._started = False
        self._fetch_error = ""
        self._list_callbacks = Callbacks("on_list")
        super().__init__(
            loader=loader,
            thumb_px=thumb_px,
            shown_at_once=page_size,
            mode="library",
            title=title,
            status_filter=status_filter,
        )
        self._use_account(self._client.base_url, self._client.key_id)
        self.observe(self._on_api_filter, "status_filter")
        self.observe(self._on_local_filter, ["state_filter", "vote_filter", "search", "sort"])
        self.observe(self._on_page, "page")
        if autoload:
            self._start()

    def _browser_messages(self) -> dict[str, protocol.Handler]:
        return {**super()._browser_messages(), protocol.REFRESH: self._refresh_asked}

    @property
    def sceneries(self) -> list[Scenery]:
        """Every scenery that passes the filters, across all pages, in display order."""
        return list(self._view)

    @property
    def status_message(self) -> str:
        """The sentence under the toolbar ("" when all is well)."""
        return self.message

    def __repr__(self) -> str:
        total = "not loaded" if self._all is None else f"{len(self._view)} of {len(self._all)} sceneries"
        return f"SceneryGallery({total}, page {self.page + 1} of {self.page_count})"

    def add_prompts(self, prompts: Mapping[str, str], order: Sequence[str] = ()) -> None:
        """Teach the gallery which prompt made which scenery (the Studio does this for each job)."""
        self._prompt_of.update(prompts)
        for position, scenery_id in enumerate(order):
            self._positions[scenery_id] = position
        if self._all is not None:
            self._recompute(reset_page=False)

    def on_list(self, callback: Callable[[list[Scenery]], Any], remove: bool = False) -> None:
        """Call `callback(sceneries)` with every list the gallery shows (the Studio feeds its runs)."""
        self._list_callbacks.register(callback, remove)

    async def refresh(self) -> None:
        """Reload the list; returns once the list this call or a newer one fetched is shown, with the
        page's thumbnails loaded.

        Errors never escape: they become a sentence under the toolbar, and the cards keep showing
        the last list that loaded.
        """
        if self._closed:
            return
        self._started = True
        self._generation += 1
        generation = self._generation
        task = asyncio.current_task()
        if task is not None:
            self._fetch_work.add(task)
        try:
            await self._refresh(generation)
            await self._shown(generation)
            await self.wait_pictures()
        finally:
            if task is not None:
                self._fetch_work.discard(task)

    async def _refresh(self, generation: int) -> None:
        self._say(LOADING_MESSAGE)
        self.loader.warm_up()
        try:
            if self._journal is not None and not self._prompt_of:
                await self._read_journal()
            found = await self._fetch()
        except asyncio.CancelledError:
            self._settle(generation)
            raise
        except Exception as exc:
            if generation == self._generation and not self._closed:
                logger.info("gallery: listing sceneries failed: %s", type(exc).__name__)
                kept = " Showing the list loaded before." if self._all else ""
                self._fetch_error = describe_error(exc) + kept
                self._say(self._fetch_error, error=True)
            self._settle(generation)
            return
        if generation == self._generation and not self._closed:
            self._replace_list(found)
        self._settle(generation)

    def _settle(self, generation: int) -> None:
        """A refresh ended (shown, failed or superseded): release the callers waiting for it or older."""
        self._settled_generation = max(self._settled_generation, generation)
        still = []
        for wanted, future in self._waiters:
            if wanted <= self._settled_generation or self._closed:
                if not future.done():
                    future.set_result(None)
            else:
                still.append((wanted, future))
        self._waiters = still

    async def _shown(self, generation: int) -> None:
        """Until the newest refresh started so far has ended: a superseded call waits for its successor."""
        newest = self._generation
        if self._settled_generation >= newest or self._closed:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((max(newest, generation), future))
        await future

    async def _read_journal(self) -> None:
        assert self._journal is not None
        try:
            batches = await self._journal.history(self._client.base_url, self._client.key_id)
        except Exception as exc:  # the journal only adds prompts: a bad one must not hide the pictures
            logger.warning("gallery: could not read prompts from the journal: %s", type(exc).__name__)
            return
        for batch in batches:
            for position, record_id in enumerate(batch.record_ids):
                self._prompt_of[record_id] = batch.prompt
                self._positions[record_id] = position

    def show_sceneries(self, sceneries: Sequence[Scenery]) -> None:
        """Show a list someone else already fetched (the Studio's poll) without another request.

        The list is taken as the account's full list, so the Approved toggle still applies. Cards
        whose scenery did not change keep their thumbnail. A `refresh()` in flight is superseded: its
        older list is dropped when it arrives, and its caller returns once this list is shown.
        """
        self._started = True
        self._generation += 1
        self._replace_list(list(sceneries))
        self._settle(self._generation)

    async def wait_idle(self) -> None:
        """Until fetching and the visible page's thumbnails are done."""
        await wait_for_tasks(self._fetch_work)
        await self.wait_pictures()

    def close(self) -> None:
        """Stop loading; callers still awaiting `refresh()` return at once."""
        if self._ready and not self._closed:
            for _, future in self._waiters:
                if not future.done():
                    future.set_result(None)
            self._waiters = []
        super().close()

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        if not self._started:
            self._start()
        return super()._repr_mimebundle_(**kwargs)

    def _start(self) -> None:
        if loop_running():
            self._spawn_refresh()

    def _spawn_refresh(self) -> None:
        if self._closed:
            return
        self._started = True
        task = self._tasks.spawn(self.refresh(), name="gallery-refresh")
        if task is not None:
            self._fetch_work.add(task)
            task.add_done_callback(self._fetch_work.discard)

    async def _fetch(self) -> list[Scenery]:
        request = asyncio.ensure_future(self._client.list_sceneries(self.status_filter))
        try:
            done, _ = await asyncio.wait({request}, timeout=self._slow_after)
            if not done:
                self._say(SLOW_MESSAGE)
            return await request
        finally:
            if not request.done():
                request.cancel()

    def _replace_list(self, sceneries: list[Scenery]) -> None:
        if self._closed:
            return
        if self.status_filter == "approved":
            sceneries = [s for s in sceneries if s.is_approved]
        if self.only_ids is not None:  # a class's kernel: only its own pictures (engine.jobs.history_scope)
            sceneries = [s for s in sceneries if s.id in self.only_ids]
        self._all = sceneries
        self._known = {s.id: s for s in sceneries}
        self._list_callbacks(sceneries)
        self._fetch_error = ""
        self._forget_pictures(set(self._known))
        with self.hold_sync():  # the cards, counts and message go to the browser as one update
            self._recompute(reset_page=False)

    def _recompute(self, *, reset_page: bool) -> None:
        voted = [s for s in self._all or [] if self.vote_filter in ("all", service_vote(s.voting))]
        rating = self.sort == "rating"  # best first, newest first among equals
        order = "newest" if rating else self.sort
        found = filter_and_sort(
            voted,
            state=self.state_filter,
            search=self.search,
            order=order,
            prompts=self._prompt_of,
            positions=self._positions,
        )
        self._view = self.by_marks(found, rating_first=rating or None)
        self.page_count = max(1, math.ceil(len(self._view) / self.page_size))
        self._quiet = True
        try:
            self.page = 0 if reset_page else min(self.page, self.page_count - 1)
        finally:
            self._quiet = False
        self._render()

    def _render(self) -> None:
        start = self.page * self.page_size
        shown = self._view[start : start + self.page_size]
        old = {c["id"]: c for c in self.cards}
        fresh = [self._card(s) for s in shown]
        if [c["id"] for c in fresh] == list(old):
            self._update_cards(fresh)
        else:
            self._show_cards(fresh)
        loaded, state = self._all, self.state_filter
        matching = len(self._view)
        self.count_text = "" if loaded is None else shown_text(start, len(shown), matching, loaded, state)
        if self._fetch_error:
            self._say(self._fetch_error, error=True)
        elif self._all is not None:
            self._say(EMPTY_MESSAGE if not self._all else NO_MATCH_MESSAGE if not self._view else "")
        self._prefetch_next(start + self.page_size)

    def _prefetch_next(self, start: int) -> None:
        if self._prefetch is not None:
            self._prefetch.cancel()
        urls = [s.thumbnail for s in self._view[start : start + self.page_size] if s.is_done and s.thumbnail]
        if urls and not self._closed:
            # Once the visible page is held: sharing connections and threads, it made that page come later.
            self._prefetch = self._tasks.spawn(
                self.loader.prefetch(urls, size=self.thumb_px, after=self._thumb_work),
                name="gallery-prefetch",
            )

    @traitlets.validate("page")
    def _valid_page(self, proposal: dict[str, Any]) -> int:
        page = protocol.bounded_int(proposal["value"], -(2**31), 2**31, "page")
        return min(max(page, 0), max(self.page_count - 1, 0))

    @traitlets.validate("search")
    def _valid_search(self, proposal: dict[str, Any]) -> str:
        return protocol.bounded_text(proposal["value"], MAX_SEARCH_CHARS, "The search")

    def _on_page(self, _change: dict[str, Any]) -> None:
        if not self._quiet and not self._closed and self._all is not None:
            self._render()

    def _refilter(self) -> None:
        if self._all is not None:
            self._recompute(reset_page=False)

    def _on_local_filter(self, _change: dict[str, Any]) -> None:
        if not self._closed and self._all is not None:
            self._recompute(reset_page=True)

    def _on_api_filter(self, _change: dict[str, Any]) -> None:
        if not self._closed:
            self._spawn_refresh()

    def _refresh_asked(self, _message: protocol.BrowserMessage) -> None:
        self._spawn_refresh()
