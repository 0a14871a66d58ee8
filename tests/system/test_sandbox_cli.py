"""`qamera-widgets sandbox` as a person runs it: the printed curl lines work as pasted, Ctrl+C and SIGTERM
stop it cleanly."""

from __future__ import annotations

import csv
import json
import os
import queue
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

COMMAND = Path(sys.executable).with_name("qamera-widgets")
pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")


@dataclass
class Running:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    def value(self, label: str) -> str:
        return next(
            line.split(":", 1)[1].strip() for line in self.lines if line.strip().startswith(label + ":")
        )

    def values(self, label: str) -> list[str]:
        return [line.split(":", 1)[1].strip() for line in self.lines if line.strip().startswith(label + ":")]

    @property
    def curl_lines(self) -> list[str]:
        return [line.strip() for line in self.lines if line.strip().startswith("curl ")]

    stderr_reader: threading.Thread | None = None

    def stop(self, sig: signal.Signals) -> tuple[int, str]:
        """Signal it, wait, and return its exit code and the rest of its stdout."""
        self.process.send_signal(sig)
        code = self.process.wait(20)
        assert self.process.stdout is not None and self.stderr_reader is not None
        rest = self.process.stdout.read()
        self.stderr_reader.join(10)
        return code, rest


def _launch(*options: str) -> Running:
    process = subprocess.Popen(
        [str(COMMAND), "sandbox", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    running = Running(process)
    stdout: queue.Queue[str | None] = queue.Queue()

    def pump_stdout() -> None:
        """Reads up to the second curl line only; `stop()` reads the rest."""
        assert process.stdout is not None
        curls = 0
        for line in iter(process.stdout.readline, ""):
            stdout.put(line.rstrip("\n"))
            curls += line.strip().startswith("curl ")
            if curls == 2:
                break
        stdout.put(None)

    def pump_stderr() -> None:
        assert process.stderr is not None
        for line in iter(process.stderr.readline, ""):
            running.stderr.append(line)

    threading.Thread(target=pump_stdout, daemon=True).start()
    running.stderr_reader = threading.Thread(target=pump_stderr, daemon=True)
    running.stderr_reader.start()
    deadline = time.monotonic() + 30
    while True:
        line = stdout.get(timeout=max(0.1, deadline - time.monotonic()))
        if line is None:
            break
        running.lines.append(line)
    assert len(running.curl_lines) == 2, running.lines + running.stderr
    return running


@pytest.fixture
def cli() -> Iterator[Running]:
    running = _launch("--processing-seconds", "0.05", "0.1", "--seed", "3", "--failure-rate", "0")
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait(10)


def curl(command: str | list[str]) -> str:
    args = shlex.split(command) if isinstance(command, str) else command
    done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True)
    return done.stdout


def test_help_lists_every_option() -> None:
    out = subprocess.run(
        [str(COMMAND), "sandbox", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for option in (
        "--port",
        "--cdn-port",
        "--host",
        "--credits",
        "--keys",
        "--data-dir",
        "--seed",
        "--failure-rate",
        "--processing-seconds",
        "--cdn-latency-ms",
        "--library",
        "--rate-limit",
        "--class-list",
    ):
        assert option in out


def test_printed_curl_examples_work_as_pasted(cli: Running) -> None:
    base_url, key = cli.value("API"), cli.value("API key")
    assert base_url.startswith("http://127.0.0.1:") and cli.value("CDN").startswith("http://127.0.0.1:")
    assert key.startswith("mk_live_") and cli.value("Admin token")

    listing = json.loads(curl(cli.curl_lines[0]))
    assert listing["count"] == 12 == len(listing["sceneries"])
    registered = json.loads(curl(cli.curl_lines[1]))
    assert registered["creditsReserved"] == 20 and len(registered["createdRecordIds"]) == 2

    bearer = json.loads(
        curl(["curl", "-sS", "-H", f"Authorization: Bearer {key}", base_url + "/api/external/sceneries"])
    )
    assert bearer["count"] == 14
    refused = curl(["curl", "-sS", "-w", "%{http_code}", base_url + "/api/external/sceneries"])
    assert refused.endswith("401") and json.loads(refused[:-3])["error"]
    thumbnail = listing["sceneries"][0]["thumbnail"]
    assert thumbnail.startswith(cli.value("CDN"))
    assert (
        curl(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{content_type}", thumbnail])
        == "200 image/jpeg"
    )

    admin = {"Authorization": f"Bearer {cli.value('Admin token')}"}
    account = httpx.get(base_url + "/sandbox/account", headers=admin, timeout=10).json()
    assert account["available"] == 980


def test_server_log_lines_carry_the_correlation_id(cli: Running) -> None:
    response = httpx.get(
        cli.value("API") + "/api/external/sceneries", headers={"X-Api-Key": cli.value("API key")}
    )
    correlation_id = response.headers["x-correlation-id"]
    code, _ = cli.stop(signal.SIGINT)
    assert code == 0
    lines = [line for line in cli.stderr if correlation_id in line]
    assert len(lines) == 1 and "/api/external/sceneries" in lines[0] and " 200 " in lines[0]
    assert not any(cli.value("API key") in line for line in cli.stderr)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_stop_cleanly(cli: Running, sig: signal.Signals) -> None:
    base_url = cli.value("API")
    code, out = cli.stop(sig)
    assert code == 0
    assert "Sandbox stopped." in out
    assert not any("Traceback" in line for line in cli.stderr), cli.stderr
    with pytest.raises(httpx.ConnectError):
        httpx.get(base_url, timeout=2)


def test_keys_option_issues_one_working_key_per_account() -> None:
    running = _launch(
        "--keys", "3", "--credits", "50", "--library", "1", "--processing-seconds", "0.05", "0.1"
    )
    try:
        keys = running.values("API key")
        assert len(set(keys)) == 3
        base_url = running.value("API")
        for key in keys:
            body = httpx.get(
                base_url + "/api/external/sceneries", headers={"X-Api-Key": key}, timeout=10
            ).json()
            assert body["count"] == 1
    finally:
        assert running.stop(signal.SIGTERM)[0] == 0


def test_data_dir_keeps_the_ledger_across_cli_restarts(tmp_path: Path) -> None:
    first = _launch("--data-dir", str(tmp_path), "--processing-seconds", "0.05", "0.1", "--failure-rate", "0")
    curl(first.curl_lines[1])
    time.sleep(0.5)
    assert first.stop(signal.SIGINT)[0] == 0
    second = _launch("--data-dir", str(tmp_path))
    try:
        assert second.value("Data dir") == str(tmp_path)
        listing = json.loads(curl(second.curl_lines[0]))
        assert listing["count"] == 14
        admin = {"X-Admin-Token": second.value("Admin token")}
        assert httpx.get(second.value("API") + "/sandbox/account", headers=admin).json()["consumed"] == 20
    finally:
        assert second.stop(signal.SIGINT)[0] == 0


@pytest.mark.parametrize(
    "options", [["--keys", "0"], ["--failure-rate", "2"], ["--processing-seconds", "3", "1"]]
)
def test_bad_options_exit_with_a_message(options: list[str]) -> None:
    done = subprocess.run([str(COMMAND), "sandbox", *options], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "qamera-widgets sandbox:" in done.stderr


def test_class_list_holds_one_working_key_per_student_readable_by_the_owner_alone(tmp_path: Path) -> None:
    class_list = tmp_path / "class.csv"
    class_list.write_text("an older list\n")
    class_list.chmod(0o644)
    running = _launch(
        "--keys",
        "30",
        "--credits",
        "200",
        "--library",
        "0",
        "--class-list",
        str(class_list),
        "--processing-seconds",
        "0.05",
        "0.1",
    )
    try:
        assert class_list.stat().st_mode & 0o777 == 0o600
        with class_list.open(newline="") as f:
            rows = list(csv.DictReader(f))
        assert [int(row["student"]) for row in rows] == list(range(1, 31))
        keys = [row["api_key"] for row in rows]
        assert len(set(keys)) == 30
        assert all(row["credits"] == "200" for row in rows)
        assert all(key.startswith(f"mk_live_{row['key_id']}.") for key, row in zip(keys, rows, strict=True))
        printed = "\n".join(running.lines)
        assert not any(key.split(".", 1)[1] in printed for key in keys), "keys belong in the class list only"
        assert running.value("Class list").startswith(str(class_list))

        base_url = running.value("API")
        admin = {"X-Admin-Token": running.value("Admin token")}
        for row in rows[::29]:
            assert (
                httpx.get(
                    base_url + "/api/external/sceneries", headers={"X-Api-Key": row["api_key"]}, timeout=10
                ).json()["count"]
                == 0
            )
            ledger = httpx.get(
                base_url + "/sandbox/account", params={"key_id": row["key_id"]}, headers=admin, timeout=10
            ).json()
            assert ledger["available"] == 200
        env_curl = subprocess.run(
            ["bash", "-c", running.curl_lines[0]],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "QAMERA_API_KEY": keys[0]},
        )
        assert json.loads(env_curl.stdout)["count"] == 0
    finally:
        assert running.stop(signal.SIGTERM)[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class.csv"], "no temporary file is left"


def test_class_list_that_cannot_be_written_stops_with_a_message(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(COMMAND), "sandbox", "--class-list", str(tmp_path / "missing" / "class.csv")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "cannot write the class list" in done.stderr
