"""connect(): which service a notebook talks to, and that a sandbox token never leaves loopback."""

from __future__ import annotations

from typing import Any

import pytest

from qamera_widgets import sandbox
from qamera_widgets.connect import connect, sandbox_in_env


def test_no_key_starts_a_sandbox_and_says_so(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.delenv("QAMERA_API_KEY", raising=False)
    connection = connect(processing_seconds=(0.05, 0.1), rate_limit=None)
    try:
        assert connection.started_sandbox and connection.is_sandbox
        assert len(connection.client.list_sceneries()) == 12
        assert "No QAMERA_API_KEY set: started a local sandbox" in capsys.readouterr().out
    finally:
        connection.close()


def test_a_key_and_token_from_the_demo_attach_to_that_sandbox(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("QAMERA_API_KEY", sandbox.api_key)
    monkeypatch.setenv("QAMERA_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("QAMERA_SANDBOX_ADMIN_TOKEN", sandbox.admin_token)
    connection = connect()
    assert connection.is_sandbox and not connection.started_sandbox and connection.sandbox is not None
    assert connection.sandbox.account() == sandbox.account()
    assert capsys.readouterr().out.startswith("Using the sandbox at")
    connection.close()
    assert sandbox.account()["available"] == 1000, "closing an attached sandbox leaves it running"


def test_a_leftover_sandbox_token_is_never_sent_to_a_real_host(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("QAMERA_API_KEY", "mk_live_abc.secret")
    monkeypatch.delenv("QAMERA_BASE_URL", raising=False)
    monkeypatch.setenv("QAMERA_SANDBOX_ADMIN_TOKEN", "admin-token-value")
    assert sandbox_in_env() is None
    assert "ignored" in caplog.text and "loopback" in caplog.text
    assert "admin-token-value" not in caplog.text
    with pytest.raises(ValueError, match="loopback"):
        sandbox.attach("https://app.qamera.ai", "admin-token-value")
