"""Templates a Voilà page can type or paste (or send as a trait update from devtools): a huge one is refused
before it is read, a counted one never becomes a number with thousands of digits, and nothing but a
TemplateError (with a sentence to act on) comes out of the form's plan, `field_errors` or `Studio.compare`.
The tests count the work done (how often the template was parsed, how big the number shown is), never time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from qamera_widgets.client import AsyncQameraClient
from qamera_widgets.contract import MAX_PREFERENCES_CHARS
from qamera_widgets.engine.jobs.plans import compare_jobs, field_errors, plan_jobs
from qamera_widgets.engine.jobs.templates import MAX_VARIANTS, TemplateError, expand, variant_count
from qamera_widgets.widgets.form import KEPT_PROMPT_CHARS, PromptForm

pytestmark = pytest.mark.usefixtures("widgets_home")

# "{a|b}" repeated: 15,000 groups (75 kB) is 2**15000, a 4,516-digit number, past the 4,300 digits Python
# turns into text; a million groups is the 5 MB paste that held the loop for a minute.
PAST_THE_DIGIT_LIMIT = "{a|b}" * 15_000
HUGE = "{a|b}" * 1_000_000
# The longest the API takes, and still 2**400 prompts: counted, it must not be shown as 121 digits.
MANY_GROUPS = "{a|b}" * (MAX_PREFERENCES_CHARS // 5)


def longest_number(text: str) -> int:
    return max((len(run) for run in re.findall(r"\d+", text.replace(",", ""))), default=0)


@pytest.mark.parametrize("template", [PAST_THE_DIGIT_LIMIT, HUGE], ids=["75kB", "5MB"])
def test_a_template_longer_than_the_api_allows_is_refused_before_it_is_read(
    template: str, parses: list[int]
) -> None:
    with pytest.raises(TemplateError, match=f"{len(template):,} characters long; the limit is 2,000"):
        expand(template)
    with pytest.raises(TemplateError):
        variant_count(template)
    assert parses == []
    assert field_errors(template, 2)["prompt"].startswith(f"The prompt is {len(template):,} characters")
    with pytest.raises(TemplateError):
        plan_jobs(template, 2)
    assert parses == []


def test_a_template_of_many_groups_says_more_than_a_bounded_number_never_the_product() -> None:
    assert len(MANY_GROUPS) == MAX_PREFERENCES_CHARS
    with pytest.raises(TemplateError) as raised:
        expand(MANY_GROUPS)
    message = str(raised.value)
    assert "makes more than 10,000 prompts" in message
    assert f"the limit is {MAX_VARIANTS} per comparison" in message
    assert longest_number(message) <= 5 and len(message) < 300
    assert variant_count(MANY_GROUPS) == MAX_VARIANTS + 1
    # Under the display bound the exact figure is still given.
    with pytest.raises(TemplateError, match=r"makes 27 prompts \(3 x 3 x 3\)"):
        expand("{a|b|c} {d|e|f} {g|h|i}")


@pytest.mark.parametrize("template", [PAST_THE_DIGIT_LIMIT, MANY_GROUPS], ids=["75kB", "2**400"])
def test_a_browser_update_of_the_prompt_shows_no_plan_and_a_short_error(template: str) -> None:
    client = AsyncQameraClient("mk_test_k1.secret", "http://127.0.0.1:9")
    form = PromptForm(client)
    try:
        # What the comm does with a trait update from the view (devtools can send any value).
        form._handle_msg(
            {
                "content": {"data": {"method": "update", "state": {"prompt": template}, "buffer_paths": []}},
                "buffers": [],
            }
        )
        # Kept bounded (long enough to be called too long, never the whole 75 kB on the loop).
        assert form.prompt == template[:KEPT_PROMPT_CHARS]
        assert form.plan == "" and form.variants == []
        error = field_errors(form.prompt, form.count)["prompt"]
        assert longest_number(error) <= 5 and len(error) < 300
    finally:
        form.close()


def test_compare_jobs_checks_sizes_before_reading_the_prompts() -> None:
    reads: list[str] = []

    class Watched(str):
        def split(self, *args: Any, **kwargs: Any) -> list[str]:
            reads.append(self[:10])
            return super().split(*args, **kwargs)

    make: Callable[..., Any] = compare_jobs
    with pytest.raises(TemplateError):
        make([Watched("oak " * 1000)] * 2 + [Watched("x" * (MAX_PREFERENCES_CHARS + 1))], 2)
    with pytest.raises(TemplateError):
        make([Watched("oak")] * (MAX_VARIANTS + 1), 2)
    assert reads == []
