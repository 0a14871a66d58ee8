"""SceneryGallery: a paged grid of scenery thumbnails for a quick visual review in a notebook.

The whole widget tree (toolbar, a fixed pool of ``page_size`` cards, pager) is built once in
``__init__``; loading, paging, filtering and refreshing only change trait values on those widgets.
That keeps the comm count flat over an hour of refreshes and makes the widget work in Voila, where
nothing may be displayed from a background task.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import io
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import traitlets
from PIL import Image, ImageDraw

from ..client import AsyncQameraClient, Scenery
from ..thumbnails import Thumbnail, ThumbnailLoader, load_font
from ._common import (
    AnyClient,
    StaticHTMLFallback,
    TaskSet,
    as_async_client,
    badge_html,
    descendants,
    describe_error,
    escape,
    logger,
    loop_running,
    set_visible,
)

__all__ = ["CONTACT_SHEET_LABEL_PX", "CONTACT_SHEET_MARGIN", "SceneryGallery", "filter_and_sort"]

API_FILTERS = ("all", "approved")
STATE_FILTERS = ("all", "done", "in progress", "failed")
SORTS = ("newest", "oldest", "name")

EMPTY_MESSAGE = "No sceneries yet: generate some with PromptForm."
NO_MATCH_MESSAGE = "No sceneries match these filters."
LOADING_MESSAGE = "Loading sceneries..."
SLOW_MESSAGE = "Still waiting for the server: it is slow or rate limiting us, and the client is retrying."

CONTACT_SHEET_MARGIN = 8
CONTACT_SHEET_LABEL_PX = 22
"""Height of the name strip under each tile of a contact sheet."""

_LOADING_TILE_RGB = (243, 244, 246)
_CARD_BORDER = "1px solid #e5e7eb"
_SELECTED_BORDER = "1px solid #1a5fb4"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_SHEET_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
REAL_THUMB_CLASS = "qw-thumb-real"
"""On a card's image while it shows a downloaded thumbnail, not a placeholder or the loading tile."""


def _blank_tile(px: int) -> Thumbnail:
    """The neutral square a card shows while its thumbnail is on the way."""
    out = io.BytesIO()
    Image.new("RGB", (px, px), _LOADING_TILE_RGB).save(out, "PNG", optimize=True)
    return Thumbnail(data=out.getvalue(), format="png", width=px, height=px, source_bytes=0)


def _matches_state(scenery: Scenery, state: str) -> bool:
    if state == "done":
        return scenery.is_done
    if state == "failed":
        return scenery.is_failed
    if state == "in progress":
        return not scenery.is_terminal
    return True


def _sort_key(order: str) -> Any:
    if order == "name":
        return lambda s: (s.name.casefold(), s.id)
    sign = -1 if order == "newest" else 1
    # Undated items go last in both directions.
    return lambda s: (
        s.created_at is None,
        sign * ((s.created_at or _EPOCH) - _EPOCH).total_seconds(),
        s.id,
    )


def filter_and_sort(sceneries: Sequence[Scenery], *, state: str, search: str, order: str) -> list[Scenery]:
    """The gallery's local view: status filter, case-insensitive name search, then sort."""
    needle = search.strip().casefold()
    kept = [
        s for s in sceneries if _matches_state(s, state) and (not needle or needle in s.name.casefold())
    ]
    return sorted(kept, key=_sort_key(order))


def _format_date(moment: datetime | None) -> str:
    if moment is None:
        return "date unknown"
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _data_uri(thumb: Thumbnail) -> str:
    return f"data:image/{thumb.format};base64,{base64.b64encode(thumb.data).decode('ascii')}"


def _fit_text(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."


class _Card:
    """One slot of the fixed card pool; shows whichever scenery the current page puts in it."""

    def __init__(self, px: int, blank: Thumbnail) -> None:
        self.image = widgets.Image(
            value=blank.data,
            format=blank.format,
            width=str(px),
            height=str(px),
            layout=widgets.Layout(width=f"{px}px", height=f"{px}px", object_fit="cover"),
        )
        self.image.add_class("qw-card-thumb")
        self.name = widgets.HTML(layout=widgets.Layout(width=f"{px}px", overflow="hidden"))
        self.name.add_class("qw-card-name")
        self.meta = widgets.HTML(layout=widgets.Layout(width=f"{px}px"))
        self.meta.add_class("qw-card-meta")
        self.select = widgets.ToggleButton(
            value=False,
            description="Select",
            icon="check",
            tooltip="Add this scenery to the selection (used by contact_sheet)",
            layout=widgets.Layout(width=f"{px}px"),
        )
        self.select.add_class("qw-card-select")
        self.select.observe(self._mark_selected, "value")
        self.box = widgets.VBox(
            [self.image, self.name, self.meta, self.select],
            layout=widgets.Layout(
                display="none", width=f"{px + 12}px", padding="5px", border=_CARD_BORDER
            ),
        )
        self.box.add_class("qw-card")
        self._px = px
        self.scenery: Scenery | None = None
        self.thumb: Thumbnail | None = None
        self.generation = 0
        self.loaded = False

    def show_text(self, scenery: Scenery) -> None:
        name = escape(scenery.name) or "<i>(no name)</i>"
        badges = badge_html(scenery.status)
        if scenery.voting:
            badges += " " + badge_html(scenery.voting)
        self.name.value = (
            f'<div title="{escape(scenery.name)}" style="max-width:{self._px}px;white-space:nowrap;'
            f'overflow:hidden;text-overflow:ellipsis;font-weight:600">{name}</div>'
        )
        self.meta.value = (
            f"<div>{badges}</div>"
            f'<div style="font-size:11px;color:#6b7280">{escape(_format_date(scenery.created_at))}</div>'
        )

    def set_thumb(self, thumb: Thumbnail, *, final: bool) -> None:
        real = final and thumb.placeholder is None
        with self.image.hold_sync():
            self.image.format = thumb.format
            self.image.value = thumb.data
            if real:
                self.image.add_class(REAL_THUMB_CLASS)
            else:
                self.image.remove_class(REAL_THUMB_CLASS)
        self.thumb = thumb
        self.loaded = final

    def _mark_selected(self, change: dict[str, Any]) -> None:
        with self.select.hold_sync():
            self.select.description = "Selected" if change["new"] else "Select"
            self.select.button_style = "info" if change["new"] else ""
        self.box.layout.border = _SELECTED_BORDER if change["new"] else _CARD_BORDER


class SceneryGallery(StaticHTMLFallback, widgets.VBox):
    """A grid of scenery thumbnails with filters, search, paging and selection.

    ``client`` may be an ``AsyncQameraClient`` or a ``QameraClient``. Loading starts by itself
    (at construction when an event loop runs, as in Jupyter, otherwise on first display).
    ``await gallery.refresh()`` reloads the list and returns once the visible page's thumbnails
    are on their widgets; ``await gallery.wait_idle()`` waits for whatever work is under way.
    """

    status_filter = traitlets.Enum(
        API_FILTERS, default_value="all", help="Which list the API returns: all sceneries or only approved."
    )
    state_filter = traitlets.Enum(
        STATE_FILTERS, default_value="all", help="Local filter on the generation status of each scenery."
    )
    search = traitlets.Unicode("", help="Local, case-insensitive filter on scenery names.")
    sort = traitlets.Enum(SORTS, default_value="newest", help="Order of the cards: newest, oldest or name.")
    page = traitlets.Int(0, help="The visible page, counted from 0.")
    selected_ids = traitlets.List(
        traitlets.Unicode(), help="Ids of the selected sceneries, in the order they were selected."
    )

    _ready = False  # a constructor that raised leaves a half-built object that ipywidgets still closes

    def __init__(
        self,
        client: AnyClient,
        status_filter: str = "all",
        columns: int = 4,
        thumb_px: int = 176,
        page_size: int = 24,
        *,
        loader: ThumbnailLoader | None = None,
        autoload: bool = True,
        slow_after: float = 4.0,
    ) -> None:
        if status_filter not in API_FILTERS:
            raise ValueError(f"status_filter must be 'all' or 'approved', not {status_filter!r}.")
        if columns < 1 or page_size < 1:
            raise ValueError("columns and page_size must be at least 1.")
        if not 16 <= thumb_px <= 1024:
            raise ValueError("thumb_px must be between 16 and 1024.")
        self._client: AsyncQameraClient = as_async_client(client)
        self._owns_loader = loader is None
        self.loader: ThumbnailLoader = loader or ThumbnailLoader(size=thumb_px)
        self.columns = columns
        self.thumb_px = thumb_px
        self.page_size = page_size
        self._slow_after = slow_after
        self._blank = _blank_tile(thumb_px)

        self._all: list[Scenery] | None = None
        self._view: list[Scenery] = []
        self._thumbs: dict[str, tuple[str, Thumbnail]] = {}
        """Scenery id -> (thumbnail URL, loaded thumbnail), for contact sheets and revisited pages."""
        self._tasks = TaskSet()
        self._fetch_work: set[asyncio.Task[Any]] = set()
        self._page_work: set[asyncio.Task[Any]] = set()
        self._page_task: asyncio.Task[Any] | None = None
        self._prefetch_task: asyncio.Task[Any] | None = None
        self._fetch_generation = 0
        self._quiet = False
        self._started = False
        self._closed = False
        self._status_text = ""
        self._fetch_error: str | None = None

        self._approved = widgets.ToggleButtons(
            options=[("All", "all"), ("Approved", "approved")],
            value=status_filter,
            tooltips=["Every scenery of the account", "Only sceneries voted APPROVED"],
            style={"button_width": "80px"},
        )
        self._approved.add_class("qw-approved")
        self._state = widgets.Dropdown(
            options=[("All statuses", "all"), ("Done", "done"), ("In progress", "in progress"),
                     ("Failed", "failed")],
            value="all",
            layout=widgets.Layout(width="130px"),
        )
        self._state.add_class("qw-state-filter")
        self._search = widgets.Text(
            placeholder="Search names", continuous_update=True, layout=widgets.Layout(width="170px")
        )
        self._search.add_class("qw-search")
        self._sort = widgets.Dropdown(
            options=[("Newest first", "newest"), ("Oldest first", "oldest"), ("Name", "name")],
            value="newest",
            layout=widgets.Layout(width="130px"),
        )
        self._sort.add_class("qw-sort")
        self._refresh_button = widgets.Button(description="Refresh", icon="refresh",
                                              layout=widgets.Layout(width="100px"))
        self._refresh_button.add_class("qw-refresh")
        self._count = widgets.HTML(value="")
        self._count.add_class("qw-count")
        toolbar = widgets.HBox(
            [self._approved, self._state, self._search, self._sort, self._refresh_button, self._count],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center", grid_gap="6px"),
        )
        toolbar.add_class("qw-toolbar")
        self._status = widgets.HTML(value="")
        self._status.add_class("qw-status-line")

        self._cards = [_Card(thumb_px, self._blank) for _ in range(page_size)]
        grid = widgets.GridBox(
            [card.box for card in self._cards],
            layout=widgets.Layout(
                grid_template_columns=f"repeat({columns}, {thumb_px + 24}px)", grid_gap="8px"
            ),
        )
        grid.add_class("qw-grid")

        self._prev = widgets.Button(description="Prev", icon="chevron-left", disabled=True,
                                    layout=widgets.Layout(width="90px"))
        self._prev.add_class("qw-prev")
        self._page_label = widgets.HTML(value="page 1 of 1")
        self._page_label.add_class("qw-page-label")
        self._next = widgets.Button(description="Next", icon="chevron-right", disabled=True,
                                    layout=widgets.Layout(width="90px"))
        self._next.add_class("qw-next")
        pager = widgets.HBox([self._prev, self._page_label, self._next],
                             layout=widgets.Layout(align_items="center", grid_gap="8px"))
        pager.add_class("qw-pager")

        super().__init__([toolbar, self._status, grid, pager], status_filter=status_filter)
        self.add_class("qw-gallery")

        self._links = [
            traitlets.link((self._approved, "value"), (self, "status_filter")),
            traitlets.link((self._state, "value"), (self, "state_filter")),
            traitlets.link((self._search, "value"), (self, "search")),
            traitlets.link((self._sort, "value"), (self, "sort")),
        ]
        self._refresh_button.on_click(lambda _button: self._spawn_refresh())
        self._prev.on_click(lambda _button: self._turn(-1))
        self._next.on_click(lambda _button: self._turn(+1))
        for card in self._cards:
            card.select.observe(functools.partial(self._on_card_toggle, card), "value")
        self.observe(self._on_api_filter, "status_filter")
        self.observe(self._on_local_filter, ["state_filter", "search", "sort"])
        self.observe(self._on_page, "page")
        self.observe(self._on_selected_ids, "selected_ids")

        self._ready = True
        if autoload:
            self._start()

    @property
    def sceneries(self) -> list[Scenery]:
        """Every scenery that passes the filters, across all pages, in display order."""
        return list(self._view)

    @property
    def selected(self) -> list[Scenery]:
        """The selected sceneries that are in the loaded list, in selection order."""
        known = {s.id: s for s in self._all or ()}
        return [known[i] for i in self.selected_ids if i in known]

    @property
    def page_count(self) -> int:
        return max(1, math.ceil(len(self._view) / self.page_size))

    @property
    def status_message(self) -> str:
        """The plain-text sentence in the status line ("" when all is well)."""
        return self._status_text

    def __repr__(self) -> str:
        total = "not loaded" if self._all is None else f"{len(self._view)} of {len(self._all)} sceneries"
        return f"SceneryGallery({total}, page {self.page + 1} of {self.page_count})"

    async def refresh(self) -> None:
        """Reload the list from the API; returns once the visible page's thumbnails are on widgets.

        Errors never escape: they become a plain sentence in the status line, and the cards keep
        showing the last list that loaded.
        """
        if self._closed:
            return
        self._started = True
        self._fetch_generation += 1
        generation = self._fetch_generation
        self._set_status(LOADING_MESSAGE)
        try:
            found = await self._fetch()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if generation == self._fetch_generation and not self._closed:
                logger.info("gallery: listing sceneries failed: %s", type(exc).__name__)
                kept = " Showing the list loaded before." if self._all else ""
                self._fetch_error = describe_error(exc) + kept
                self._set_status(self._fetch_error, error=True)
            return
        if generation != self._fetch_generation or self._closed:
            return
        try:
            self._replace_list(found)
        except Exception as exc:  # shown in the widget: a background task has no cell to print in
            logger.warning("gallery: showing the list failed", exc_info=exc)
            self._set_status(f"Could not show the list. {describe_error(exc)}", error=True)
            return
        await self._wait_for(self._page_work)

    def show_sceneries(self, sceneries: Sequence[Scenery]) -> None:
        """Show a list someone else already fetched (the Studio's poll) without another request.

        The list is taken as the account's full list, so the Approved toggle still applies.
        Cards whose scenery did not change keep their thumbnail untouched. A `refresh()` still in
        flight is superseded: its older list is dropped when it arrives.
        """
        self._started = True
        self._fetch_generation += 1
        self._replace_list(list(sceneries))

    async def wait_idle(self) -> None:
        """Wait until fetching, the visible page's thumbnails and selection thumbnails are done."""
        await self._wait_for(self._fetch_work)
        await self._wait_for(self._page_work)

    def contact_sheet(self, selected_only: bool = True) -> Image.Image:
        """One image of the chosen thumbnails with names underneath, for sharing a review.

        ``selected_only=False`` takes every scenery that passes the filters. Thumbnails are the ones
        already loaded; sceneries without one get the matching placeholder tile.
        """
        chosen = self.selected if selected_only else self.sceneries
        if not chosen:
            if selected_only:
                raise ValueError(
                    "No sceneries are selected: click Select on some cards first "
                    "(or call contact_sheet(selected_only=False) for everything shown)."
                )
            raise ValueError("There are no sceneries to put on a contact sheet.")
        px, margin, label = self.thumb_px, CONTACT_SHEET_MARGIN, CONTACT_SHEET_LABEL_PX
        cols = min(self.columns, len(chosen))
        rows = math.ceil(len(chosen) / cols)
        sheet = Image.new(
            "RGB", (cols * (px + margin) + margin, rows * (px + label + margin) + margin), (255, 255, 255)
        )
        draw = ImageDraw.Draw(sheet)
        font = load_font(max(9, label - 8))
        for index, scenery in enumerate(chosen):
            row, col = divmod(index, cols)
            x = margin + col * (px + margin)
            y = margin + row * (px + label + margin)
            thumb = self._tile_for(scenery) or self._known_thumb(scenery) or self.loader.placeholder(
                "no preview", size=px
            )
            with Image.open(io.BytesIO(thumb.data)) as tile:
                picture = tile.convert("RGB")
            if picture.size != (px, px):
                picture = picture.resize((px, px))
            sheet.paste(picture, (x, y))
            draw.text((x, y + px + 3), _fit_text(draw, scenery.name, font, px), fill=(31, 41, 55), font=font)
        return sheet

    def save_contact_sheet(self, path: str | Path, selected_only: bool = True) -> Path:
        """Write the contact sheet as PNG, JPEG or WebP, chosen by the file extension."""
        target = Path(path)
        fmt = _SHEET_FORMATS.get(target.suffix.lower())
        if fmt is None:
            raise ValueError(f"Use a .png, .jpg, .jpeg or .webp file name, not {target.name!r}.")
        sheet = self.contact_sheet(selected_only=selected_only)
        if fmt == "JPEG":
            sheet.save(target, fmt, quality=90)
        else:
            sheet.save(target, fmt)
        return target

    def close(self) -> None:
        """Stop every background task and close every widget of the tree, this one last."""
        if not self._ready:
            super().close()
            return
        if self._closed:
            return
        self._closed = True
        self._tasks.cancel_all()
        for link in self._links:
            link.unlink()
        for widget in descendants(self):
            widget.close()
        if self._owns_loader and loop_running():
            self._tasks.spawn(self.loader.aclose(), name="gallery-loader-close")
        super().close()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        """The live widget plus a static HTML copy of the current page for exported notebooks."""
        if not self._started:
            self._start()
        return super()._repr_mimebundle_(**kwargs)

    def static_html(self) -> str:
        """The visible page as a plain HTML table, thumbnails inlined from the bytes already loaded."""
        shown = [card for card in self._cards if card.scenery is not None]
        cells = []
        for card in shown:
            assert card.scenery is not None
            thumb = card.thumb or self._blank
            cells.append(
                '<td style="vertical-align:top;padding:4px;width:{w}px">'
                '<img src="{src}" width="{px}" height="{px}" alt="{alt}" style="object-fit:cover"><br>'
                '<b>{name}</b><br><small>{status}{voting} &middot; {date}</small></td>'.format(
                    w=self.thumb_px + 8,
                    px=self.thumb_px,
                    src=_data_uri(thumb),
                    alt=escape(card.scenery.name),
                    name=escape(card.scenery.name),
                    status=escape(card.scenery.status),
                    voting=f" / {escape(card.scenery.voting)}" if card.scenery.voting else "",
                    date=escape(_format_date(card.scenery.created_at)),
                )
            )
        rows = [
            "<tr>" + "".join(cells[i:i + self.columns]) + "</tr>" for i in range(0, len(cells), self.columns)
        ]
        caption = escape(self._status_text or self._count_text())
        return (
            f'<div class="qw-gallery-static"><p>{caption}</p>'
            f'<table style="border-collapse:collapse">{"".join(rows)}</table></div>'
        )

    def _start(self) -> None:
        if loop_running():
            self._spawn_refresh()

    def _spawn_refresh(self) -> None:
        if self._closed:
            return
        self._started = True
        self._track(self._tasks.spawn(self.refresh(), name="gallery-refresh"), self._fetch_work)

    def _track(self, task: asyncio.Task[Any] | None, bucket: set[asyncio.Task[Any]]) -> None:
        if task is not None:
            bucket.add(task)
            task.add_done_callback(bucket.discard)

    @staticmethod
    async def _wait_for(bucket: set[asyncio.Task[Any]]) -> None:
        me = asyncio.current_task()
        while True:
            pending = {task for task in bucket if task is not me and not task.done()}
            if not pending:
                return
            await asyncio.wait(pending)

    async def _fetch(self) -> list[Scenery]:
        request = asyncio.ensure_future(self._client.list_sceneries(self.status_filter))
        try:
            done, _ = await asyncio.wait({request}, timeout=self._slow_after)
            if not done:
                self._set_status(SLOW_MESSAGE)
            return await request
        finally:
            if not request.done():
                request.cancel()

    def _replace_list(self, sceneries: list[Scenery]) -> None:
        if self._closed:
            return
        if self.status_filter == "approved":
            sceneries = [s for s in sceneries if s.is_approved]
        self._all = sceneries
        self._fetch_error = None
        ids = {s.id for s in sceneries}
        self._thumbs = {i: t for i, t in self._thumbs.items() if i in ids}
        self._recompute(reset_page=False)

    def _recompute(self, *, reset_page: bool) -> None:
        self._view = filter_and_sort(
            self._all or [], state=self.state_filter, search=self.search, order=self.sort
        )
        last = self.page_count - 1
        target = 0 if reset_page else min(self.page, last)
        self._quiet = True
        try:
            self.page = target
        finally:
            self._quiet = False
        self._render()

    def _render(self) -> None:
        """Put the current page into the card pool and start loading what the cards now need."""
        start = self.page * self.page_size
        items = self._view[start:start + self.page_size]
        selected = set(self.selected_ids)
        wanted: list[tuple[_Card, int, str]] = []
        self._quiet = True
        try:
            for index, card in enumerate(self._cards):
                scenery = items[index] if index < len(items) else None
                url = self._show_on_card(card, scenery, selected)
                if url is not None:
                    wanted.append((card, card.generation, url))
        finally:
            self._quiet = False
        self._update_labels()
        next_urls = [
            s.thumbnail
            for s in self._view[start + self.page_size:start + 2 * self.page_size]
            if s.is_done and s.thumbnail
        ]
        if self._page_task is not None:
            self._page_task.cancel()
        if self._prefetch_task is not None:
            self._prefetch_task.cancel()
        self._page_task = self._tasks.spawn(self._load_page(wanted, next_urls), name="gallery-page")
        self._track(self._page_task, self._page_work)

    def _show_on_card(self, card: _Card, scenery: Scenery | None, selected: set[str]) -> str | None:
        """Update one card; returns the URL still to load, if any."""
        previous = card.scenery
        card.scenery = scenery
        if scenery is None:
            card.generation += 1
            set_visible(card.box, False)
            card.select.value = False
            return None
        card.show_text(scenery)
        card.select.value = scenery.id in selected
        set_visible(card.box, True)
        same_picture = (
            previous is not None
            and previous.id == scenery.id
            and previous.status == scenery.status
            and previous.thumbnail == scenery.thumbnail
        )
        if same_picture and card.loaded:
            return None
        card.generation += 1
        tile = self._tile_for(scenery)
        if tile is not None:
            card.set_thumb(tile, final=True)
            return None
        known = self._known_thumb(scenery)
        if known is not None:
            card.set_thumb(known, final=True)
            return None
        if not same_picture:
            card.set_thumb(self._blank, final=False)
        return scenery.thumbnail

    def _known_thumb(self, scenery: Scenery) -> Thumbnail | None:
        remembered = self._thumbs.get(scenery.id)
        if remembered is None or remembered[0] != scenery.thumbnail:
            return None
        return remembered[1]

    def _tile_for(self, scenery: Scenery) -> Thumbnail | None:
        """The placeholder a scenery gets without any download, or None when it has a picture to load."""
        if scenery.is_failed:
            return self.loader.placeholder("failed", size=self.thumb_px)
        if not scenery.is_done:
            return self.loader.placeholder("rendering", size=self.thumb_px)
        if not scenery.thumbnail:
            return self.loader.placeholder("no preview", size=self.thumb_px)
        return None

    async def _load_page(self, wanted: list[tuple[_Card, int, str]], next_urls: list[str]) -> None:
        try:
            await asyncio.gather(*(self._load_card(card, gen, url) for card, gen, url in wanted))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # shown in the widget: a background task has no cell to print in
            logger.warning("gallery: showing thumbnails failed", exc_info=exc)
            self._set_status(f"Could not show the thumbnails. {describe_error(exc)}", error=True)
            return
        if next_urls and not self._closed:
            self._prefetch_task = self._tasks.spawn(
                self.loader.prefetch(next_urls, size=self.thumb_px), name="gallery-prefetch"
            )

    async def _load_card(self, card: _Card, generation: int, url: str) -> None:
        thumb = await self._load(url)
        # A newer page or list may have given this card another scenery meanwhile.
        if card.generation != generation or card.scenery is None or self._closed:
            return
        self._apply(card, url, thumb)

    def _apply(self, card: _Card, url: str, thumb: Thumbnail) -> None:
        # A failed tile is not final: the next render (a refresh, a poll) tries that thumbnail again,
        # and the loader's failure memory keeps that from hammering a broken CDN.
        card.set_thumb(thumb, final=thumb.placeholder is None)
        if thumb.placeholder is None and card.scenery is not None:
            self._thumbs[card.scenery.id] = (url, thumb)

    async def _load(self, url: str) -> Thumbnail:
        try:
            return await self.loader.load(url, size=self.thumb_px)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("gallery: thumbnail loading failed unexpectedly: %s", type(exc).__name__)
            return self.loader.placeholder("failed", size=self.thumb_px)

    async def _remember_thumbs(self, sceneries: list[Scenery]) -> None:
        async def one(scenery: Scenery) -> None:
            assert scenery.thumbnail is not None
            thumb = await self._load(scenery.thumbnail)
            if thumb.placeholder is None:
                self._thumbs[scenery.id] = (scenery.thumbnail, thumb)

        await asyncio.gather(*(one(s) for s in sceneries))

    def _set_status(self, text: str, *, error: bool = False) -> None:
        self._status_text = text
        colour = "#b3261e" if error else "#4b5563"
        self._status.value = f'<div style="color:{colour};padding:2px 0">{escape(text)}</div>' if text else ""

    def _count_text(self) -> str:
        if self._all is None:
            return ""
        return f"{len(self._view)} of {len(self._all)}"

    def _update_labels(self) -> None:
        self._count.value = f"<span>{escape(self._count_text())}</span>"
        self._page_label.value = f"<span>{escape(self._page_text())}</span>"
        self._prev.disabled = self.page <= 0
        self._next.disabled = self.page >= self.page_count - 1
        if self._fetch_error is not None:
            self._set_status(self._fetch_error, error=True)
        elif self._all is not None:
            if not self._all:
                self._set_status(EMPTY_MESSAGE)
            elif not self._view:
                self._set_status(NO_MATCH_MESSAGE)
            else:
                self._set_status("")

    def _page_text(self) -> str:
        return f"page {self.page + 1} of {self.page_count}"

    def _turn(self, step: int) -> None:
        self.page = min(max(self.page + step, 0), self.page_count - 1)

    @traitlets.validate("page")
    def _valid_page(self, proposal: dict[str, Any]) -> int:
        return min(max(int(proposal["value"]), 0), self.page_count - 1)

    def _on_page(self, change: dict[str, Any]) -> None:
        if not self._quiet and not self._closed:
            self._render()

    def _on_local_filter(self, change: dict[str, Any]) -> None:
        if not self._closed:
            self._recompute(reset_page=True)

    def _on_api_filter(self, change: dict[str, Any]) -> None:
        if not self._closed:
            self._spawn_refresh()

    def _on_card_toggle(self, card: _Card, change: dict[str, Any]) -> None:
        if self._quiet or card.scenery is None:
            return
        scenery_id = card.scenery.id
        ids = [i for i in self.selected_ids if i != scenery_id]
        if change["new"]:
            ids.append(scenery_id)
        self.selected_ids = ids

    def _on_selected_ids(self, change: dict[str, Any]) -> None:
        if self._closed:
            return
        selected = set(change["new"])
        self._quiet = True
        try:
            for card in self._cards:
                if card.scenery is not None:
                    card.select.value = card.scenery.id in selected
        finally:
            self._quiet = False
        missing = [
            s for s in self.selected
            if self._tile_for(s) is None and self._known_thumb(s) is None
        ]
        if missing:
            self._track(
                self._tasks.spawn(self._remember_thumbs(missing), name="gallery-selection"), self._page_work
            )
