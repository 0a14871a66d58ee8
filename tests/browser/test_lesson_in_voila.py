"""The live lesson (notebook 03) as a class meets it: served as `qamera-widgets demo --voila` serves it,
in Chromium.

Sections appear as their cells run (Voilà's progressive rendering), nothing is spent until a student
presses a button, and a prompt typed in step 3 ends as pictures in the results canvas.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import nbformat
from playwright.sync_api import Page, WebSocketRoute, expect

from qamera_widgets.demo import TEACHING_NOTEBOOK

from ._canvas import OVERFLOWING, wait_run_finished
from .conftest import ARTIFACTS, REPO

STUDENT_PROMPT = "Terracotta tiles in late afternoon sun"


def last_code_cell_index() -> int:
    notebook = nbformat.read(REPO / "qamera_widgets" / "notebooks" / TEACHING_NOTEBOOK, as_version=4)
    return max(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code")


def wait_until(page: Page, condition: Callable[[], bool], timeout: float = 90.0) -> None:
    """Let Playwright deliver events (route handlers run inside its calls) until `condition()` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition did not hold in time")
        page.wait_for_timeout(100)


def open_lesson(page: Page, url: str) -> None:
    """Load the page and wait until its last cell has run (the studio of step 6 is on screen)."""
    page.goto(url, wait_until="domcontentloaded")
    expect(page.locator(".qw-studio")).to_be_visible(timeout=90_000)
    expect(page.locator(".lesson-account").first).to_contain_text("available", timeout=30_000)


def test_the_first_section_is_on_screen_before_the_last_cell_has_run(page: Page, lesson_server: str) -> None:
    """The execution socket's results from the last code cell on are held back: the first section must
    be readable and live meanwhile. Without progressive rendering Voilà sends the page only once every
    cell has run, so the last cell's studio would be on the page with it."""
    last = last_code_cell_index()
    held: list[str | bytes] = []
    routes: list[WebSocketRoute] = []

    def hold_the_end(ws: WebSocketRoute) -> None:
        routes.append(ws)
        server = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            data = json.loads(message)
            result = data.get("action") == "execution_result"
            if held or (result and data["payload"]["cell_index"] >= last):
                held.append(message)
            else:
                ws.send(message)

        server.on_message(from_server)

    page.route_web_socket("**/voila/execution/**", hold_the_end)
    page.goto(f"{lesson_server}/", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="1. Your key and your credits")).to_be_visible(timeout=90_000)
    expect(page.locator(".lesson-key")).to_contain_text("Key id", timeout=90_000)
    expect(page.locator(".lesson-account").first).to_contain_text("available", timeout=30_000)
    assert page.locator(".qw-studio").count() == 0, "the last cell's output came with the first section"

    wait_until(page, lambda: bool(held))  # the kernel has run the last code cell; its result waits here
    assert page.locator(".qw-studio").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "voila-lesson-before-last-cell.png"))
    for message in held:
        routes[0].send(message)
    expect(page.locator(".qw-studio")).to_be_visible(timeout=30_000)


def test_a_student_types_a_prompt_presses_generate_and_sees_the_pictures(
    page: Page, lesson_server: str, service: Any
) -> None:
    open_lesson(page, f"{lesson_server}/")
    before = service.account()
    form = page.locator(".lesson-form")
    expect(form.locator(".qw-form-title")).to_have_text("Step 3: your prompt")
    form.locator(".qw-prompt-box").fill(STUDENT_PROMPT)
    form.locator(".qw-count-input").fill("4")
    form.locator("button.qw-generate").click()

    request = page.locator(".lesson-box", has_text="The request").filter(has_text="register-ideas")
    expect(request).to_contain_text(f'"preferences": "{STUDENT_PROMPT}"', timeout=30_000)
    expect(request).to_contain_text('"count": 4')
    expect(request).not_to_contain_text(service.api_key.split(".", 1)[1])
    reply = page.locator(".lesson-box", has_text="The reply: 200 OK")
    expect(reply).to_contain_text('"creditsReserved": 40', timeout=30_000)

    # A quarter of the sandbox's pictures fail; with 4 all failing is a 1-in-256 chance.
    cards = wait_run_finished(page, STUDENT_PROMPT, 4)
    done = [c for c in cards if c["state"] == "done" and c["painted"]]
    assert done, cards
    expect(page.locator(".lesson-box", has_text="Statuses")).to_contain_text("DONE")
    after = service.account()
    assert after["consumed"] - before["consumed"] == 10 * len(done)
    assert after["refunded"] - before["refunded"] == 10 * (4 - len(done))

    ARTIFACTS.mkdir(exist_ok=True)
    board = page.locator(".qw-canvas[data-mode=runs]").first
    for width in (1600, 700):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(300)
        assert page.evaluate(OVERFLOWING) == [], f"horizontal overflow at {width} px"
        form.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"voila-lesson-step3-{width}-light.png"))
        board.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"voila-lesson-step4-{width}-light.png"))
    page.screenshot(path=str(ARTIFACTS / "voila-lesson-700-light-full.png"), full_page=True)


def test_loading_the_lesson_five_times_spends_nothing(page: Page, lesson_server: str, service: Any) -> None:
    """Every load is a new kernel running every cell; none of them may register a job."""
    account = service.account()
    registered = service.stats()["register_requests"]
    for load in range(5):
        open_lesson(page, f"{lesson_server}/" + ("?theme=dark" if load == 4 else ""))
    assert page.evaluate("() => document.body.dataset.jpThemeLight") == "false"
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "voila-lesson-1600-dark-full.png"), full_page=True)
    assert service.stats()["register_requests"] == registered
    assert service.account() == account


def test_step_3_keeps_the_count_within_one_to_four_as_it_says(page: Page, lesson_server: str) -> None:
    """The text says "choose 1 to 4 pictures"; the form alone accepts up to 20 (10 cost 100 credits)."""
    open_lesson(page, f"{lesson_server}/")
    form = page.locator(".lesson-form")
    form.locator(".qw-prompt-box").fill("Ten pictures of a quiet harbour")
    form.locator(".qw-count-input").fill("10")
    form.locator("button.qw-generate").click()
    request = page.locator(".lesson-box", has_text="The request").filter(has_text="register-ideas")
    expect(request).to_contain_text('"count": 4', timeout=30_000)
    expect(page.locator(".lesson-box", has_text="The reply: 200 OK")).to_contain_text(
        '"creditsReserved": 40', timeout=30_000
    )
    expect(page.locator(".lesson-count-note")).to_contain_text("1 to 4 pictures")
    expect(form.locator(".qw-count-input")).to_have_value("4")
    page.set_viewport_size({"width": 700, "height": 1000})
    page.wait_for_timeout(300)
    page.locator(".lesson-count-note").evaluate("el => el.scrollIntoView({block: 'center'})")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "voila-lesson-step3-count-bound-700-light.png"))


def test_step_5_keeps_both_answers_on_screen(page: Page, lesson_server: str) -> None:
    """Pressing the 429 button used to replace the 402 answer; the 402 box said its numbers twice."""
    open_lesson(page, f"{lesson_server}/")
    page.set_viewport_size({"width": 700, "height": 1000})
    page.get_by_role("button", name="Ask for 5 pictures with 20 credits").click()
    poor = page.locator(".lesson-402")
    expect(poor).to_contain_text("HTTP 402", timeout=30_000)
    page.get_by_role("button", name="Send requests without pacing").click()
    hasty = page.locator(".lesson-429")
    # This suite's sandbox has no rate limit, so the second answer is "No 429 after 100 requests".
    expect(hasty).to_contain_text("after 100 requests", timeout=60_000)
    expect(poor).to_contain_text("HTTP 402")
    expect(poor).to_be_visible()
    expect(hasty).to_be_visible()
    text = poor.inner_text().casefold()
    assert text.count("required") == 1 and text.count("available: 20") == 1, text
    assert page.evaluate(OVERFLOWING) == [], "horizontal overflow at 700 px"
    poor.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "voila-lesson-step5-both-answers-700-light.png"))
