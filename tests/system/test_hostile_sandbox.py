"""A hostile sandbox folder met from other processes: a second sandbox on it, a CLI on a broken database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from qamera_widgets.sandbox import Sandbox
from qamera_widgets.sandbox.datadir import SandboxDataError
from tests.loopback.test_hostile_sandbox import LIST, REGISTER

MakeSandbox = Callable[..., Sandbox]


def test_second_sandbox_on_the_same_folder_refuses_naming_folder_and_process(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    first = make_sandbox(data_dir=tmp_path, processing_seconds=(30.0, 30.0))
    response = httpx.post(
        first.base_url + REGISTER,
        json={"preferences": "oak", "count": 2},
        headers={"X-Api-Key": first.api_key},
        timeout=10,
    )
    ids = response.json()["createdRecordIds"]
    with pytest.raises(SandboxDataError) as refused:
        make_sandbox(data_dir=tmp_path)
    assert str(tmp_path) in str(refused.value) and f"process {os.getpid()}" in str(refused.value)
    listed = httpx.get(first.base_url + LIST, headers={"X-Api-Key": first.api_key}, timeout=10).json()
    statuses = {item["id"]: item["status"] for item in listed["sceneries"] if item["id"] in ids}
    assert set(statuses.values()) <= {"PROCESSING", "PENDING"}
    assert "PROCESSING" in statuses.values(), "the refused start must not requeue the first one's items"

    command = [sys.executable, "-m", "qamera_widgets", "sandbox", "--data-dir", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert str(tmp_path) in done.stderr and f"process {os.getpid()}" in done.stderr
    assert "Traceback" not in done.stderr
    first.stop()
    make_sandbox(data_dir=tmp_path).stop()  # the folder is free again once the first one stopped


def _cli_start(data_dir: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "qamera_widgets", "sandbox", "--data-dir", str(data_dir)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("content", "advice"),
    [
        (b"", "is empty"),
        (b"this is not a database at all, just some text that someone saved here" * 20, "not a usable"),
    ],
)
def test_cli_names_an_empty_or_corrupt_database_file(tmp_path: Path, content: bytes, advice: str) -> None:
    database = tmp_path / "sandbox.sqlite3"
    database.write_bytes(content)
    done = _cli_start(tmp_path)
    assert done.returncode == 2, done.stdout
    assert str(database) in done.stderr and advice in done.stderr
    assert "Traceback" not in done.stderr
    assert database.read_bytes() == content


def test_cli_names_a_database_of_another_schema(tmp_path: Path) -> None:
    database = tmp_path / "sandbox.sqlite3"
    foreign = sqlite3.connect(database)
    foreign.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT)")
    foreign.commit()
    foreign.close()
    done = _cli_start(tmp_path)
    assert done.returncode == 2, done.stdout
    assert str(database) in done.stderr and "accounts" in done.stderr
    assert "Traceback" not in done.stderr
