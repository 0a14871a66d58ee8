"""What a person does with the studio in a browser, shared by the Lab, Notebook 7 and Voilà tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from playwright.sync_api import Locator, Page, expect

from qamera_widgets.engine.wording import excerpt

KERNEL_STATUS = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return k ? k.status : null; }"""

FOCUSED = "() => document.activeElement ? document.activeElement.className : ''"

THEME = "(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})"


def cards_of_run(cards: str = ".qw-card") -> str:
    """A page function: the cards (`cards`, a selector inside the run) of one run found by its prompt,
    each with its state and whether a real picture is painted in it; null while the run is not drawn."""
    return RUN_CARDS.replace("'.qw-card')]", f"'{cards}')]")


# Cards of one run (by its prompt): their state and whether a real picture is painted in them.
RUN_CARDS = """(prompt) => {
  const run = [...document.querySelectorAll('.qw-canvas[data-mode=runs] .qw-run')]
    .find(r => r.querySelector('.qw-run-prompt').textContent === prompt);
  if (!run) return null;
  return [...run.querySelectorAll('.qw-card')].map(c => {
    const img = c.querySelector('img.qw-thumb-real');
    const box = img && img.getBoundingClientRect();
    return { state: c.dataset.state, label: c.textContent,
             painted: Boolean(img && img.complete && img.naturalWidth > 0 && box.width > 0) };
  });
}"""

OVERFLOWING = """() => {
  const bad = [];
  for (const root of document.querySelectorAll('.qw-canvas, .qw-form')) {
    for (const el of [root, ...root.querySelectorAll('*')]) {
      const style = getComputedStyle(el);
      if (style.display === 'none' || style.display === 'inline') continue;
      if (el.scrollWidth > el.clientWidth + 1 && style.overflowX !== 'hidden') {
        bad.push(`${el.tagName}.${el.className} ${el.scrollWidth}>${el.clientWidth}`);
      }
    }
  }
  return bad;
}"""


# Resolves once every cell queued so far has run (a later cell of a notebook can replace the view).
CELLS_DONE = """() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel
  .requestExecute({code: "pass", silent: true}).done.then(() => true)"""

# The WCAG 2 contrast ratio of an element's text against the first opaque background behind it, with
# the text colour's alpha blended onto that background (computed colours, as the browser paints them).
CONTRAST = r"""(el) => {
  const parse = (c) => {
    const nums = (text) => text.split(/[ ,/]+/).filter(Boolean).map(Number);
    let m = c.match(/^rgba?\(([^)]+)\)/);
    if (m) { const p = nums(m[1]); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; }
    m = c.match(/^color\(srgb ([^)]+)\)/);  // how Chromium computes color-mix()
    if (m) { const p = nums(m[1]); return [p[0] * 255, p[1] * 255, p[2] * 255, p.length > 3 ? p[3] : 1]; }
    throw new Error(`a colour this test cannot read: ${c}`);
  };
  let node = el, bg = null;
  while (node && node.nodeType === 1) {
    const c = parse(getComputedStyle(node).backgroundColor);
    if (c[3] > 0.99) { bg = c; break; }
    node = node.parentElement;
  }
  bg = bg || [255, 255, 255, 1];
  const fg = parse(getComputedStyle(el).color);
  const mixed = fg.slice(0, 3).map((v, i) => v * fg[3] + bg[i] * (1 - fg[3]));
  const lum = (rgb) => { const [r, g, b] = rgb.map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const [a, b] = [lum(mixed), lum(bg.slice(0, 3))].sort((x, y) => y - x);
  return { ratio: (a + 0.05) / (b + 0.05), bg: lum(bg.slice(0, 3)),
           opacity: Number(getComputedStyle(el).opacity) };
}"""


def run_all_cells(page: Page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    page.wait_for_function(f"({KERNEL_STATUS})() === 'idle'", timeout=90_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.locator("li[data-command='runmenu:run-all']").click()


def generate(page: Page, prompt: str, count: int) -> None:
    """Type a prompt, set the count and press Ctrl+Enter, as a person would."""
    box = page.locator(".qw-form .qw-prompt-box")
    box.click()
    box.fill(prompt)
    page.locator(".qw-form .qw-count-input").fill(str(count))
    box.press("Control+Enter")


def open_in_voila(page: Page, voila_url: str) -> None:
    """Open the Voilà app and wait for its studio."""
    page.goto(f"{voila_url}/", wait_until="domcontentloaded")
    expect(page.locator(".qw-studio")).to_be_visible(timeout=90_000)


def finished_run(page: Page, prompt: str, count: int) -> list[dict[str, Any]]:
    """Generate `count` pictures of `prompt` from the form and wait until every card is painted or failed."""
    generate(page, prompt, count)
    return wait_run_finished(page, prompt, count)


def with_a_picture(
    page: Page, prompt: str, count: int, cards: list[dict[str, Any]], need: int = 1
) -> list[dict[str, Any]]:
    """`cards` of a finished run, or those of a new run of the same prompt while the sandbox failed all
    but fewer than `need` pictures (it fails a quarter, so in a long session it happens): a person
    generates again. The newest run is drawn first, so its cards are the ones the probes find."""
    runs = page.locator(".qw-canvas[data-mode=runs] .qw-run-prompt", has_text=prompt)
    for _ in range(5):
        if sum(card["state"] == "done" for card in cards) >= need:
            return cards
        before = runs.count()
        generate(page, prompt, count)
        expect(runs).to_have_count(before + 1, timeout=60_000)
        cards = wait_run_finished(page, prompt, count)
    raise AssertionError(f"the sandbox left fewer than {need} pictures of {prompt!r} six times")


def run_cards(page: Page, prompt: str) -> list[dict[str, Any]] | None:
    cards: list[dict[str, Any]] | None = page.evaluate(RUN_CARDS, prompt)
    return cards


def wait_run_finished(
    page: Page, prompt: str, count: int, timeout: float = 120_000, within: str = ".qw-card"
) -> list[dict[str, Any]]:
    """Until the run shows `count` cards (`within`: which cards of the run) and every one is a painted
    picture or says it failed; returns those cards."""
    cards_js = cards_of_run(within)
    page.wait_for_function(
        f"""(prompt) => {{ const cards = ({cards_js})(prompt);
            return cards !== null && cards.length === {count} &&
              cards.every(c => (c.state === 'done' && c.painted) || c.state === 'failed'); }}""",
        arg=prompt,
        timeout=timeout,
    )
    cards: list[dict[str, Any]] | None = page.evaluate(cards_js, prompt)
    assert cards is not None
    return cards


def run_of(page: Page, prompt: str) -> Locator:
    """The run whose prompt is `prompt` (a locator: it pierces the shadow roots marimo draws widgets in)."""
    return page.locator(".qw-canvas[data-mode=runs] .qw-run", has=page.get_by_text(prompt, exact=True))


def open_large_view(page: Page, prompt: str, *, keyboard: bool = False, timeout: float = 30) -> Locator:
    """Open the run's first picture (a click, or Enter on the focused card) and wait until the full-size
    picture is painted; returns the overlay. Locators only, so it works inside shadow roots too."""
    card = run_of(page, prompt).locator(".qw-card.qw-done").first
    if keyboard:
        card.focus()
        page.keyboard.press("Enter")
    else:
        card.click()
    overlay = page.locator(".qw-overlay:not([hidden])")
    expect(overlay).to_be_visible(timeout=10_000)
    expect(overlay.locator(".qw-large-prompt")).to_have_text(prompt)
    large = overlay.locator("img.qw-large-img:not(.qw-large-low)")
    deadline = time.monotonic() + timeout
    while not large.evaluate("(img) => img.complete && img.naturalWidth > 400"):
        assert time.monotonic() < deadline, "the large picture never loaded"
        page.wait_for_timeout(250)
    return overlay


def step_and_close(page: Page, overlay: Locator, *, step: bool = True) -> None:
    """Step right and back with the arrow keys (to the same picture), then close with Esc."""
    if step:
        first_id = overlay.locator(".qw-id").inner_text()
        page.keyboard.press("ArrowRight")
        expect(overlay.locator(".qw-id")).not_to_have_text(first_id, timeout=10_000)
        page.keyboard.press("ArrowLeft")
        expect(overlay.locator(".qw-id")).to_have_text(first_id, timeout=10_000)
    page.keyboard.press("Escape")
    expect(page.locator(".qw-overlay")).to_have_count(0, timeout=10_000)


def check_large_view(page: Page, prompt: str, *, keyboard: bool = False) -> None:
    """Open a picture of the run (a click, or Enter on the focused card), step with the arrow keys,
    close with Esc."""
    step_and_close(page, open_large_view(page, prompt, keyboard=keyboard))


def open_studio(page: Page, url: str) -> None:
    """Open a notebook, run all its cells and wait until they have run (a later cell can replace the view)."""
    run_all_cells(page, url)
    expect(page.locator(".qw-studio")).to_be_visible(timeout=90_000)
    page.evaluate(CELLS_DONE)


def generate_until_failed(
    page: Page, prompts: Iterable[str], count: int, pictures: int, *, confirm: bool = False
) -> tuple[str, int]:
    """Generate each prompt (`count` pictures each; `confirm`: say yes to a template's plan) until a run of
    `pictures` cards has failures (the sandbox fails about one picture in four): that prompt, how many."""
    tried = 0
    for prompt in prompts:
        tried += 1
        box = page.locator(".qw-form .qw-prompt-box")
        box.click()
        box.fill(prompt)
        page.locator(".qw-form .qw-count-input").fill(str(count))
        page.locator(".qw-form .qw-count-input").press("Enter")  # taken on Enter: the plan follows it
        box.press("Control+Enter")
        if confirm:
            page.locator(".qw-form .qw-confirm-yes").click()
        cards = wait_run_finished(page, prompt, pictures)
        failed = sum(card["state"] == "failed" for card in cards)
        if failed:
            return prompt, failed
    raise AssertionError(f"the sandbox failed no picture in {tried} runs of {pictures}")


def shoot_widths(page: Page, shoot: Callable[[str], None], name: str) -> None:
    """At 1400 and 700 px light, then 1400 px dark: no sideways scroll, and `shoot(file name)` for each
    (`name` with {width} and {theme}); the light theme again after."""
    for theme, widths in (("light", (1400, 700)), ("dark", (1400,))):
        if theme == "dark":
            page.evaluate(THEME, "JupyterLab Dark")
            page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=20_000)
            page.wait_for_timeout(500)
        for width in widths:
            page.set_viewport_size({"width": width, "height": 1000})
            page.wait_for_timeout(400)
            assert page.evaluate(OVERFLOWING) == [], f"sideways scroll at {width} px ({theme})"
            shoot(name.format(width=width, theme=theme))
    page.evaluate(THEME, "JupyterLab Light")


def ask_retry(
    page: Page, question: Locator, prompt: str, failed: int, shoot: Callable[[str], None], name: str
) -> None:
    """The question beside "Retry N failed" (just clicked): its words and cost, the focus on Yes, no
    sideways scroll at 700 px, `shoot(name)` at 1400 and 700 px (`name` with {width}); Escape cancels it."""
    what = "picture" if failed == 1 else "pictures"
    expect(question).to_contain_text(
        f"Retry {failed} failed {what} of \u201c{excerpt(prompt, 40)}\u201d? "
        f"{failed * 10} credits will be reserved."
    )
    page.wait_for_function(f"() => ({FOCUSED})().includes('qw-retry-yes')", timeout=10_000)
    shoot(name.format(width=1400))
    page.set_viewport_size({"width": 700, "height": 1000})
    page.wait_for_timeout(400)
    assert page.evaluate(OVERFLOWING) == [], "sideways scroll at 700 px with the question open"
    shoot(name.format(width=700))
    page.set_viewport_size({"width": 1400, "height": 1000})
    question.locator(".qw-retry-yes").focus()
    page.keyboard.press("Escape")
    expect(question).to_have_count(0)
