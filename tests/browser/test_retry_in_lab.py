"""Issue 21, "Failed pictures", as a person sees it in JupyterLab: a run with failures offers "Retry N
failed", asks beside the button with the cost (the focus on Yes, Escape cancels), and the new pictures
appear inside the same run; what a job registered is in its run's header, not in the form."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from qamera_widgets.engine.wording import pictures

from ._canvas import (
    FOCUSED,
    ask_retry,
    generate_until_failed,
    open_studio,
    run_of,
    shoot_widths,
    wait_run_finished,
)
from .conftest import ARTIFACTS


def shoot(page: Page, prompt: str, name: str) -> None:
    page.evaluate(
        """(prompt) => [...document.querySelectorAll('.qw-canvas[data-mode=runs] .qw-run')]
          .find(r => r.querySelector('.qw-run-prompt').textContent === prompt)
          ?.scrollIntoView({block: 'start'})""",
        prompt,
    )
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / name))


def test_retry_failed_asks_beside_its_button_and_draws_the_new_pictures_in_the_same_run(
    page: Page, lab_server: str
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    open_studio(page, f"{lab_server}/lab/tree/02_prompt_studio.ipynb?reset")
    takes = (f"Brass desk lamp on a linen table, take {n + 1}" for n in range(8))
    prompt, failed = generate_until_failed(page, takes, 4, 4)
    run = run_of(page, prompt)
    # What the job registered is in its run; the form's line is empty for the next prompt.
    expect(run.locator(".qw-run-meta")).to_contain_text(
        re.compile(r"Registered 4 pictures, 40 credits · .* batch ")
    )
    expect(page.locator(".qw-form .qw-form-status")).to_have_text("")

    retry = run.locator(".qw-run-retry")
    expect(retry).to_have_text(f"Retry {failed} failed", timeout=30_000)
    retry.click()
    question = run.locator(".qw-retry-question")
    ask_retry(
        page,
        question,
        prompt,
        failed,
        lambda name: shoot(page, prompt, name),
        "retry-question-{width}-light.png",
    )
    page.wait_for_function(f"() => ({FOCUSED})().includes('qw-run-retry')", timeout=10_000)

    page.keyboard.press("Enter")  # the focused "Retry N failed" asks again
    expect(question).to_be_visible()
    page.wait_for_function(f"() => ({FOCUSED})().includes('qw-retry-yes')", timeout=10_000)
    page.keyboard.press("Enter")  # Yes, from the keyboard
    expect(run.locator(".qw-run-retry-line")).to_contain_text(f"Retry · {pictures(failed)}")
    expect(run.locator(".qw-run-retry")).to_have_count(0)  # the same failures are not offered again
    wait_run_finished(page, prompt, failed, within=".qw-run-retry-part .qw-card")
    assert run.count() == 1, "the retry is part of the same run"
    expect(run.locator(".qw-run-progress-text")).to_contain_text(f"of {4 + failed} done")

    shoot_widths(page, lambda name: shoot(page, prompt, name), "retry-done-{width}-{theme}.png")
