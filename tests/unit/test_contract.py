"""The API's contract in one module: the client and the sandbox apply the same rules to the same input."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import qamera_widgets
from qamera_widgets import contract
from qamera_widgets.client import InvalidRequestError
from qamera_widgets.client.rules import validate_registration
from qamera_widgets.contract import SlidingWindow, key_id_of, parse_key, price_for
from qamera_widgets.sandbox.app import ApiError, parse_register_body

PACKAGE = Path(qamera_widgets.__file__).parent


def test_price_is_ten_credits_per_item() -> None:
    assert price_for(1) == 10
    assert price_for(20) == 200


def test_the_402_sentence_the_sandbox_writes_is_the_one_the_client_reads() -> None:
    message = contract.insufficient_credits_message(100, 40)
    assert contract.parse_insufficient_credits(message) == (100, 40)
    assert contract.parse_insufficient_credits("no money") == (None, None)


def test_keys_are_taken_apart_into_env_id_and_secret() -> None:
    assert parse_key("mk_live_abc.s3cr.et") == ("live", "abc", "s3cr.et")
    assert key_id_of(" mk_test_k-1.secret ") == "k-1"
    for bad in ("", "abc.def", "mk_live_abc", "mk_live_.x", "mk_live_abc.", "mk_live_a b.c", "mk__abc.x"):
        assert parse_key(bad) is None
        assert key_id_of(bad) is None


def test_a_formatted_key_parses_back() -> None:
    assert parse_key(contract.format_key("0123abcd", "s_e-c")) == ("live", "0123abcd", "s_e-c")


def test_sliding_window_books_slots_in_order() -> None:
    window = SlidingWindow(window=60.0)
    assert [window.reserve(0.0, 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert window.reserve(1.0, 3) == 59.0
    assert window.reserve(1.0, 3) == 59.0
    assert window.reserve(61.0, 3) == pytest.approx(0.0)
    assert window.reserve(70.0, 3) == pytest.approx(50.0)


def test_a_client_with_a_lower_limit_waits_for_its_own_limit_in_a_shared_window() -> None:
    window = SlidingWindow(window=60.0)
    assert [window.reserve(0.0, 60) for _ in range(2)] == [0.0, 0.0]
    assert window.reserve(0.0, 2) == 60.0
    assert window.reserve(0.0, 60) == 0.0


def test_the_server_side_window_refuses_past_the_limit_without_counting_refusals() -> None:
    window = SlidingWindow(window=60.0)
    assert [window.admit(0.0, 2) for _ in range(3)] == [True, True, False]
    assert window.admit(60.0, 2)


def _client_accepts(preferences: object, count: object) -> bool:
    try:
        validate_registration(preferences, count)
    except InvalidRequestError:
        return False
    return True


def _sandbox_accepts(preferences: object, count: object) -> bool:
    try:
        parse_register_body({"preferences": preferences, "count": count})
    except ApiError:
        return False
    return True


@given(
    preferences=st.one_of(st.text(max_size=2100), st.just(" " * 3), st.just("x" * 2001), st.integers()),
    count=st.one_of(st.integers(-2, 25), st.booleans(), st.text(max_size=2)),
)
def test_the_client_refuses_exactly_what_the_sandbox_refuses(preferences: object, count: object) -> None:
    assert _client_accepts(preferences, count) == _sandbox_accepts(preferences, count)


def test_the_contract_imports_nothing_from_the_package() -> None:
    tree = ast.parse((PACKAGE / "contract.py").read_text(encoding="utf-8"))
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)] + [
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    ]
    assert not [name for name in imported if name.startswith("qamera_widgets") or not name or name == "."]
    assert all(node.level == 0 for node in ast.walk(tree) if isinstance(node, ast.ImportFrom))


def test_the_sandbox_imports_the_contract_and_nothing_else_of_the_package() -> None:
    for path in sorted((PACKAGE / "sandbox").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                assert node.module == "contract", f"{path.name} imports ..{node.module}"
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                assert not node.module.startswith("qamera_widgets"), f"{path.name} imports {node.module}"
