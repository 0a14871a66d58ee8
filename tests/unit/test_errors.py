"""The status -> error class table is built from the classes' own declarations, and stays one table."""

from __future__ import annotations

import pytest

from qamera_widgets.client.errors import (
    APIStatusError,
    AuthenticationError,
    InternalServerError,
    RateLimitError,
    status_error_class,
)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, AuthenticationError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
        (418, APIStatusError),
    ],
)
def test_every_status_maps_to_the_class_that_declares_it(status: int, expected: type[APIStatusError]) -> None:
    cls = status_error_class(status)
    assert cls is expected
    error = cls("", status_code=status)
    assert error.status_code == status
    assert str(error).startswith(cls.headline.format(status=status))
    assert str(error).endswith(cls.hint or ".")


def test_a_users_refinement_keeps_the_words_and_does_not_take_over_the_table() -> None:
    class PatientRateLimit(RateLimitError):
        """A notebook's own subclass, e.g. to catch it separately."""

    assert PatientRateLimit.status_code == 429
    assert PatientRateLimit.hint == RateLimitError.hint
    assert status_error_class(429) is RateLimitError


def test_a_second_class_for_a_taken_status_is_refused_at_import() -> None:
    with pytest.raises(TypeError, match="Status 401 already has AuthenticationError"):

        class AnotherAuth(APIStatusError, status=401, headline="x", hint="y"):
            pass
