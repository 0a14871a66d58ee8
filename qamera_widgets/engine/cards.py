"""What a card says about a scenery: the small dict the browser draws (see canvas.js `drawCard`), and
the same card as static HTML for exported notebooks. Pure: the canvas supplies the prompt it knows and
the version of the picture it holds.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from html import escape
from typing import Any

from ..client.models import Scenery
from .jobs.status import card_state, vote_state
from .pictures.imaging import Thumbnail

__all__ = [
    "card",
    "card_facts",
    "figure_html",
    "format_created",
    "placeholder_kind",
    "selectable",
    "sendable",
]


def format_created(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def sendable(text: str) -> str:
    """Text the comm can encode: a lone surrogate from a server would make the whole update fail."""
    return text.encode("utf-8", "replace").decode("utf-8")


def card_facts(scenery: Scenery, prompt: str, status: str | None = None) -> dict[str, Any]:
    """What a card and the large view both say about a scenery."""
    state, label = card_state(status or scenery.status)
    return {
        "id": scenery.id,
        "name": sendable(scenery.name),
        "prompt": sendable(prompt),
        "state": state,
        "label": label,
        "vote": vote_state(scenery.voting),
        "created": format_created(scenery.created_at),
    }


def card(
    scenery: Scenery,
    prompt: str,
    picture_version: int,
    *,
    status: str | None,
    since: datetime | None,
    run: str,
) -> dict[str, Any]:
    """The card the browser draws; `picture_version` is the thumbnail held for it (0: none yet)."""
    facts = card_facts(scenery, prompt, status)
    return {
        **facts,
        "since": 0 if since is None else int(since.timestamp() * 1000),
        "thumb": picture_version if facts["state"] == "done" else 0,
        "run": run,
    }


def selectable(
    ids: Iterable[str], cards: Iterable[Mapping[str, Any]], known: Mapping[str, Scenery]
) -> list[str]:
    """The ids that may be selected: a failed picture has nothing to download or review (no box is drawn
    on its card, and a browser that sends its id anyway is not followed)."""
    failed = {c["id"] for c in cards if c.get("state") == "failed"}
    failed.update(i for i, scenery in known.items() if scenery.is_failed)
    return [i for i in ids if i not in failed]


def placeholder_kind(scenery: Scenery) -> str:
    """Which placeholder tile stands in for a scenery without a loaded picture."""
    if scenery.is_failed:
        return "failed"
    if scenery.is_done:
        return "no preview"
    return "rendering"


def figure_html(caption: str, label: str, thumb: Thumbnail, px: int) -> str:
    """One card as a static figure, its picture inlined, for viewers without widgets."""
    data = base64.b64encode(thumb.data).decode("ascii")
    caption, status = escape(caption, quote=True), escape(label, quote=True)
    return (
        f'<figure style="display:inline-block;vertical-align:top;margin:4px;width:{px}px">'
        f'<img src="data:image/{thumb.format};base64,{data}" width="{px}" '
        f'height="{px}" alt="{caption}" style="object-fit:cover">'
        f'<figcaption style="font-size:12px">{caption}'
        f"{'<br><small>' + status + '</small>' if status else ''}</figcaption></figure>"
    )
