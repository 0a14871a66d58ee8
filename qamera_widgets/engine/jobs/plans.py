"""Job planning: what one Generate sends, what it costs and what the form says about it; pure.

A prompt becomes one job, or one job per expansion of a template ("{oak|marble} countertop"); a list
of prompts compared side by side becomes one job each. Every sentence here is said before anything is
sent, in the user's words, and the client's own validation has the last word.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from ... import contract
from ...client import InvalidRequestError, Registration, rules
from ...contract import price_for
from ..store import JobRecord
from ..wording import excerpt, pictures, plural
from .templates import MAX_VARIANTS, TemplateError, Variant, expand, is_template

__all__ = [
    "RATE_LIMITED_MESSAGE",
    "UNCONFIRMED_MESSAGE",
    "Submission",
    "again_question",
    "compare_jobs",
    "confirmed_text",
    "cost_text",
    "field_errors",
    "history_entries",
    "history_from_jobs",
    "jobs_cost_text",
    "jobs_credits",
    "plan_jobs",
    "plan_text",
    "registered_text",
    "repeat_question",
    "valid_count",
]

MAX_CHARS = contract.MAX_PREFERENCES_CHARS
MIN_COUNT, MAX_COUNT = contract.MIN_COUNT, contract.MAX_COUNT

UNCONFIRMED_MESSAGE = (
    "The server did not confirm this job; it may still have been created. "
    "Check the runs and the library before submitting again, or press Retry safely."
)
RATE_LIMITED_MESSAGE = (
    "The server is rate limiting this key (429) and kept refusing while we retried; the job was not "
    "registered and nothing was charged. Wait a minute and submit again."
)


@dataclass(frozen=True)
class Submission:
    """What one POST carries; kept whole so a retry resends exactly the same job under the same key."""

    preferences: str
    count: int
    idempotency_key: str
    comparison: str = ""
    """Shared by the jobs of one comparison (one template or `Studio.compare`); '' for a lone prompt."""
    template: str = ""
    parts: tuple[tuple[str, bool], ...] = ()
    """The prompt as (text, varies) pieces, for highlighting what differs between a comparison's rows."""
    retry_of: str = ""
    """The run (its key) whose failed pictures this job generates again; '' for a job of its own."""


def valid_count(count: object) -> bool:
    return isinstance(count, int) and not isinstance(count, bool) and MIN_COUNT <= count <= MAX_COUNT


def jobs_credits(jobs: Sequence[Submission]) -> int:
    """What the jobs reserve together."""
    return price_for(sum(job.count for job in jobs))


def cost_text(count: object) -> str:
    """What a submission reserves, said before it is sent; silent on price when the count is invalid,
    so the cost line never contradicts the count's error."""
    if not valid_count(count):
        return f"Choose how many pictures to generate ({MIN_COUNT} to {MAX_COUNT})."
    assert isinstance(count, int)
    return f"{pictures(count)} · {price_for(count)} credits reserved now, refunded for any that fail"


def jobs_cost_text(jobs: Sequence[Submission]) -> str:
    """The line beside Generate for what it will send: a template's plan figure (all its jobs), else
    the single job's, so the form never says two different prices."""
    if len(jobs) < 2:
        return cost_text(jobs[0].count if jobs else None)
    total = sum(job.count for job in jobs)
    return (
        f"{pictures(total)} in {plural(len(jobs), 'job')} · {jobs_credits(jobs)} credits reserved now, "
        "refunded for any that fail"
    )


def field_errors(prompt: object, count: object) -> dict[str, str]:
    """Per-field sentences in the user's words; the client's own validation has the last word, so the
    form and the client never disagree about what is sendable."""
    errors: dict[str, str] = {}
    if isinstance(prompt, str) and is_template(prompt):
        try:
            expand(prompt)
        except TemplateError as exc:
            errors["prompt"] = str(exc)
    if "prompt" in errors:
        pass
    elif not isinstance(prompt, str) or not prompt.strip():
        errors["prompt"] = "The prompt is empty: describe the scene you want."
    elif len(prompt) > MAX_CHARS:
        errors["prompt"] = (
            f"The prompt is {len(prompt):,} characters long; shorten it to {MAX_CHARS:,} or fewer."
        )
    else:
        try:
            rules.validate_registration(prompt, contract.DEFAULT_COUNT)
        except InvalidRequestError as exc:
            errors["prompt"] = str(exc)
    if not valid_count(count):
        errors["count"] = f"Choose a whole number of pictures from {MIN_COUNT} to {MAX_COUNT}."
    return errors


def plan_jobs(prompt: str, count: int) -> list[Submission]:
    """The jobs one Generate sends: one per expansion of a template, else one; each with its own key."""
    variants = expand(prompt) if is_template(prompt) else [Variant(prompt, (), ((prompt, False),))]
    group = f"cmp-{uuid.uuid4().hex[:12]}" if len(variants) > 1 else ""
    template = prompt if group else ""
    return [Submission(v.text, count, str(uuid.uuid4()), group, template, v.parts) for v in variants]


def compare_jobs(prompts: Sequence[str], count: int) -> list[Submission]:
    """Jobs for a list of prompts compared side by side; the words not shared by all are highlighted."""
    if not prompts:
        raise ValueError("Give at least one prompt to compare.")
    # Sizes first, before a word of any prompt is read: a list can come from anywhere.
    if len(prompts) > MAX_VARIANTS:
        raise TemplateError(
            f"This comparison has {len(prompts):,} prompts; the limit is {MAX_VARIANTS}. Compare fewer."
        )
    for text in prompts:
        if len(text) > MAX_CHARS:
            raise TemplateError(
                f"A prompt to compare is {len(text):,} characters long; shorten it to {MAX_CHARS:,} or fewer."
            )
    group = f"cmp-{uuid.uuid4().hex[:12]}"
    shared = set.intersection(*(set(p.casefold().split()) for p in prompts))
    jobs = []
    for text in prompts:
        parts = tuple((word + " ", word.casefold() not in shared) for word in text.split())
        jobs.append(Submission(text, count, str(uuid.uuid4()), group, " | ".join(prompts), parts))
    return jobs


def plan_text(jobs: Sequence[Submission]) -> str:
    """'3 prompts x 4 pictures = 12 pictures, 120 credits' for a comparison; '' for one prompt."""
    if len(jobs) < 2:
        return ""
    total = sum(j.count for j in jobs)
    each = pictures(jobs[0].count)
    return f"{plural(len(jobs), 'prompt')} × {each} = {pictures(total)}, {jobs_credits(jobs)} credits"


def again_question(prompt: str, count: int) -> str:
    """Asked beside a run's "Run again": what it sends and costs (a template's whole plan)."""
    errors = field_errors(prompt, count)
    if errors:
        return " ".join(errors.values())
    jobs = plan_jobs(prompt, count)
    what = plan_text(jobs) if len(jobs) > 1 else f"{pictures(count)}, {price_for(count)} credits"
    return f"Run this again: {what}?"


def repeat_question(job: Submission) -> str:
    """Asked when the same job is sent again within a second of the last confirmed one (a double click)."""
    return (
        f"You generated this prompt a moment ago. Generate another batch of {pictures(job.count)} "
        f"({price_for(job.count)} credits)?"
    )


def confirmed_text(registration: Registration, journal_error: OSError | None) -> str:
    """What the form says once the server confirmed a job and the journal has (or could not take) it."""
    text = (
        f"Job registered: {pictures(registration.count)}, {registration.credits_reserved} credits reserved "
        "(refunded for any that fail)."
    )
    if journal_error is not None:
        text += (
            " Could not write the job journal "
            f"({journal_error.strerror or type(journal_error).__name__}): keep this batch id to find "
            "the job again."
        )
    return text


def registered_text(registrations: Sequence[Registration]) -> str:
    """What a comparison registered, all its jobs together (each job's own line is in its run)."""
    total = sum(r.count for r in registrations)
    credits = sum(r.credits_reserved for r in registrations)
    return (
        f"Comparison registered: {plural(len(registrations), 'job')}, {pictures(total)}, {credits} credits "
        "reserved (refunded for any that fail)."
    )


def history_from_jobs(jobs: Sequence[JobRecord], limit: int) -> list[tuple[str, int]]:
    """Recent prompts rebuilt from the store's jobs (oldest first, as `Journal.batches` returns them):
    newest first, a comparison as its template (once), each prompt once with its latest count."""
    history: list[tuple[str, int]] = []
    seen: set[str] = set()
    for job in reversed(jobs):
        text = job.template if job.comparison and is_template(job.template) else job.prompt
        if text and text not in seen:
            seen.add(text)
            history.append((text, job.count))
    return history[:limit]


def history_entries(history: Sequence[tuple[str, int]]) -> list[dict[str, object]]:
    """The recent-prompts menu: a short label, the prompt and its count, newest first."""
    return [{"label": f"{excerpt(text, 70)} ({n})", "prompt": text, "count": n} for text, n in history]
