"""What a run's header buttons do on the runs board: "Run again" and "Edit" (asked beside the button),
and "Retry N failed": its offer, its question, the note after it, and one drawn run made of a run and
its retries. A `StatusBoard` owns one; the counting and the words are in `engine.jobs.retry_failed` and
`engine.jobs.plans`, the sending in `engine.jobs.retry_failed.RetryDesk` and the form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..engine.jobs.plans import again_question
from ..engine.jobs.retry_failed import (
    RetryNote,
    attach_retries,
    combined_counts,
    retry_line,
    retry_question,
    retryable,
)
from ..engine.jobs.runs import Run, run_header
from . import protocol
from .basics import Callbacks, logger

__all__ = ["RunActions"]


class RunActions:
    """The run headers' buttons of one board: the questions asked beside them, the retry offers and notes,
    and the callbacks that carry a confirmed action out (the Studio's form and retry desk).

    What it needs from the board is passed in: `runs` (by key) and `statuses` (what each record's card
    shows), both read only; `cards_of(run)` (a run's cards as drawn); `redraw()` after any change;
    `say(text, error=...)` (the board's message line); `use_prompt(prompt)` (the board's "Use this prompt"
    callbacks, which "Edit" falls back on).
    """

    def __init__(
        self,
        *,
        runs: Mapping[str, Run],
        statuses: Mapping[str, str],
        cards_of: Callable[[Run], list[dict[str, Any]]],
        redraw: Callable[[], None],
        say: Callable[..., None],
        use_prompt: Callable[[str], object],
    ) -> None:
        self._runs = runs
        self._status = statuses
        self._cards_of = cards_of
        self._redraw = redraw
        self._say = say
        self._use_prompt = use_prompt
        self._run_again_callbacks = Callbacks("run-again")
        self._edit_callbacks = Callbacks("edit")
        self._asking: dict[str, str] = {}
        self._retry_callbacks = Callbacks("retry-failed")
        self._retry_asking: dict[str, str] = {}
        self._retry_notes: dict[str, RetryNote] = {}

    def on_run_again(self, callback: Callable[[str, int], Any], remove: bool = False) -> None:
        self._run_again_callbacks.register(callback, remove)

    def on_edit(self, callback: Callable[[str, int], Any], remove: bool = False) -> None:
        self._edit_callbacks.register(callback, remove)

    def on_retry_failed(self, callback: Callable[[str, str, int], Any], remove: bool = False) -> None:
        self._retry_callbacks.register(callback, remove)
        self._redraw()

    def note_retry(self, key: str, note: RetryNote | None) -> None:
        if note is None:
            self._retry_notes.pop(key, None)
        else:
            self._retry_notes[key] = note
        self._redraw()

    def retry_offer(self, key: str) -> int:
        run = self._runs.get(key)
        return 0 if run is None else self._offer(run, attach_retries(self._runs.values())[1].get(key, []))

    def question(self, key: str) -> str:
        """The "Run again" question asked in the header of the run (or comparison) `key`, or ''."""
        return self._asking.get(key, "")

    def _offer(self, run: Run, retries: Sequence[Run]) -> int:
        """The count "Retry N failed" offers on a run with a prompt: a plain run, or a comparison's row
        (each prompt of a comparison is a job of its own, so each row offers its own retry)."""
        if run.retry_of or not run.prompt or not self._retry_callbacks:
            return 0
        return len(retryable(run, retries, self._status))

    def header(
        self, run: Run, retries: Sequence[Run], ids: list[str], cards: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """A run's header (a plain run's, or a comparison row's) with its retries inside: the counts of
        all, a line and cards per retry, and the retry offer (`cards` gets the retries' cards, after the
        run's own, when the run is unfolded)."""
        drawn = run_header(run, combined_counts([run, *retries], self._status), ids)
        lines = []
        for retry in retries:
            retry_cards = self._cards_of(retry)
            lines.append(retry_line(retry, [c["id"] for c in retry_cards], self._status))
            if not run.collapsed:
                cards.extend(retry_cards)
        offered = self._offer(run, retries)
        note = self._retry_notes.get(run.key)
        drawn["retries"] = lines
        drawn["retry"] = {
            "count": offered,
            "question": self._retry_asking.get(run.key, "") if offered else "",
            "note": note.text if note else "",
            "note_kind": note.kind if note else "",
        }
        return drawn

    def retry_from_browser(self, message: protocol.BrowserMessage) -> None:
        """A click on "Retry N failed" (no `yes`: ask beside it) or the answer to its question. The count
        is Python's own; a key naming no run with failures to retry sends nothing and says so."""
        key = str(message["key"])
        yes = message.get("yes")
        count = self.retry_offer(key)
        if count == 0:
            # A second click while the retry is on its way, or a key no run of this board has.
            self._retry_asking.pop(key, None)
            logger.debug("refused a retry_failed message for %.40r: no failed pictures to retry", key)
            if key not in self._runs:
                self._say("There are no failed pictures to retry in that run; nothing was sent.", error=True)
            self._redraw()
            return
        asked = self._retry_asking.pop(key, "")
        run = self._runs[key]
        question = retry_question(run.prompt, count)
        if yes is None or (yes is True and asked and asked != question):
            # Asked (again, when the count changed since: the yes is only for the cost it saw).
            self._retry_asking[key] = question
            self._retry_notes.pop(key, None)
        elif yes is True and asked:  # a yes to a question never asked sends nothing
            self._retry_callbacks(key, run.prompt, count)
        self._redraw()

    def run_again_from_browser(self, message: protocol.BrowserMessage) -> None:
        """ "Run again", asked in the run's header next to the button (the form is left as it is)."""
        key = str(message.get("key", ""))
        named = self._run_or_comparison(key)
        if named is None or not (named.template or named.prompt):
            return
        prompt = named.template or named.prompt
        yes, asked, self._asking = message.get("yes"), key in self._asking, {}
        if yes is None:
            self._asking = {key: again_question(prompt, named.count)}
        elif yes is True and asked:  # a yes to a question never asked sends nothing
            self._run_again_callbacks(prompt, named.count)
        self._redraw()

    def edit_from_browser(self, message: protocol.BrowserMessage) -> None:
        """ "Edit": the run's prompt or template, and its count, into the form."""
        named = self._run_or_comparison(str(message.get("key", "")))
        if named is None or not (named.template or named.prompt):
            return
        prompt = named.template or named.prompt
        if self._edit_callbacks:
            self._edit_callbacks(prompt, named.count)
        else:
            self._use_prompt(prompt)

    def _run_or_comparison(self, key: str) -> Run | None:
        """The run a header's key names: a run's own key, or the first run of a comparison."""
        run = self._runs.get(key)
        return run if run is not None else next((r for r in self._runs.values() if r.comparison == key), None)
