"""The sandbox over real loopback HTTP against every row of the contract (Part A and Part B)."""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qamera_widgets.sandbox import Sandbox, attach

LIST = "/api/external/sceneries"
REGISTER = "/api/external/sceneries/register-ideas"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")

MakeSandbox = Callable[..., Sandbox]
WaitTerminal = Callable[..., dict[str, dict[str, Any]]]
Settled = Callable[..., None]


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sandbox.base_url, headers={"X-Api-Key": sandbox.api_key}, timeout=10
    ) as client:
        yield client


def anonymous(sandbox: Sandbox) -> httpx.Client:
    return httpx.Client(base_url=sandbox.base_url, timeout=10)


def assert_error(response: httpx.Response, status: int, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"]
    if message is not None:
        assert body["error"] == message


# Authentication


@pytest.mark.shared_sandbox
def test_x_api_key_and_bearer_both_authenticate(sandbox: Sandbox) -> None:
    with anonymous(sandbox) as client:
        assert client.get(LIST, headers={"X-Api-Key": sandbox.api_key}).status_code == 200
        assert client.get(LIST, headers={"Authorization": f"Bearer {sandbox.api_key}"}).status_code == 200
        assert client.get(LIST, headers={"Authorization": f"bearer {sandbox.api_key}"}).status_code == 200


def test_x_api_key_wins_over_bearer(sandbox: Sandbox) -> None:
    other = sandbox.issue_key(credits=0)
    with anonymous(sandbox) as client:
        wrong_x = client.get(
            LIST, headers={"X-Api-Key": "mk_live_nope.nope", "Authorization": f"Bearer {other}"}
        )
        assert_error(wrong_x, 401)
        right_x = client.post(
            REGISTER,
            json={"preferences": "white", "count": 1},
            headers={"X-Api-Key": sandbox.api_key, "Authorization": f"Bearer {other}"},
        )
        assert right_x.status_code == 200
    assert sandbox.account()["reserved"] + sandbox.account()["consumed"] == 10
    assert sandbox.account(other)["available"] == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Api-Key": ""},
        {"X-Api-Key": "mk_live_0123456789abcdef.secret"},
        {"X-Api-Key": "not-a-key"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer mk_live_x.y"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
)
def test_missing_or_unknown_key_gets_401(sandbox: Sandbox, headers: dict[str, str]) -> None:
    with anonymous(sandbox) as client:
        assert_error(client.get(LIST, headers=headers), 401)
        assert_error(client.post(REGISTER, json={"preferences": "a"}, headers=headers), 401)
    assert sandbox.account()["reserved"] == 0


@pytest.mark.shared_sandbox
def test_wrong_secret_expired_and_revoked_keys_get_401(sandbox: Sandbox) -> None:
    key_id = sandbox.api_key.split(".", 1)[0]
    expired = sandbox.issue_key(expires_in_seconds=0)
    revoked = sandbox.issue_key()
    with anonymous(sandbox) as client:
        assert client.get(LIST, headers={"X-Api-Key": revoked}).status_code == 200
        sandbox.revoke_key(revoked)
        for key in (f"{key_id}.wrong-secret", expired, revoked):
            assert_error(client.get(LIST, headers={"X-Api-Key": key}), 401, "Invalid API key.")


@pytest.mark.shared_sandbox
def test_key_without_register_scope_gets_403_but_can_list(sandbox: Sandbox) -> None:
    reader = sandbox.issue_key(credits=1000, scopes=())
    with anonymous(sandbox) as client:
        assert client.get(LIST, headers={"X-Api-Key": reader}).status_code == 200
        response = client.post(REGISTER, json={"preferences": "white"}, headers={"X-Api-Key": reader})
    assert_error(response, 403, "Missing required scope: 'content.register'.")
    assert sandbox.account(reader) == {"available": 1000, "reserved": 0, "consumed": 0, "refunded": 0}


@pytest.mark.parametrize("sandbox", [{"keys": 3, "credits": 500, "library": 2}], indirect=True)
def test_each_key_spends_and_sees_only_its_own_account(sandbox: Sandbox) -> None:
    assert len(set(sandbox.api_keys)) == 3 and sandbox.api_key == sandbox.api_keys[0]
    with anonymous(sandbox) as client:
        created = client.post(
            REGISTER, json={"preferences": "oak", "count": 4}, headers={"X-Api-Key": sandbox.api_keys[1]}
        ).json()["createdRecordIds"]
        lists = [client.get(LIST, headers={"X-Api-Key": key}).json() for key in sandbox.api_keys]
    assert [body["count"] for body in lists] == [2, 6, 2]
    assert set(created) <= {item["id"] for item in lists[1]["sceneries"]}
    assert sandbox.account(sandbox.api_keys[0])["available"] == 500
    assert sandbox.account(sandbox.api_keys[2])["available"] == 500
    assert sandbox.account(sandbox.api_keys[1])["available"] == 460


# Errors


def test_every_error_is_json_with_an_error_message(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(rate_limit=3)
    poor = sandbox.issue_key(credits=0)
    reader = sandbox.issue_key(scopes=())
    with anonymous(sandbox) as client:
        key = {"X-Api-Key": sandbox.api_key}
        assert_error(client.post(REGISTER, content=b"{", headers=key), 400)
        assert_error(client.get(LIST), 401)
        assert_error(client.post(REGISTER, json={"preferences": "a"}, headers={"X-Api-Key": poor}), 402)
        assert_error(client.post(REGISTER, json={"preferences": "a"}, headers={"X-Api-Key": reader}), 403)
        assert_error(client.get("/api/external/nothing", headers=key), 404, "Not found.")
        assert_error(client.delete(LIST, headers=key), 405, "Method not allowed.")
        assert_error(client.post(REGISTER, content=b"x" * (70 * 1024), headers=key), 413)
        for _ in range(2):
            client.get(LIST, headers=key)
        assert_error(client.get(LIST, headers=key), 429)
        sandbox.set_faults(api_error_rate=1.0)
        assert_error(client.get(LIST, headers={"X-Api-Key": poor}), 500, "Internal server error.")


@pytest.mark.shared_sandbox
def test_402_names_required_and_available_and_changes_nothing(sandbox: Sandbox) -> None:
    poor = sandbox.issue_key(credits=25)
    with anonymous(sandbox) as client:
        response = client.post(
            REGISTER, json={"preferences": "white", "count": 3}, headers={"X-Api-Key": poor}
        )
        assert_error(response, 402, "Insufficient credits. Required: 30, available: 25.")
        assert client.get(LIST, headers={"X-Api-Key": poor}).json() == {"sceneries": [], "count": 0}
        assert client.post(
            REGISTER, json={"preferences": "w", "count": 2}, headers={"X-Api-Key": poor}
        ).is_success
    assert sandbox.account(poor)["available"] == 5
    assert sandbox.audit(poor) == []


# Rate limiting


def test_429_after_sixty_requests_a_minute_get_and_post_together(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(rate_limit=60, credits=100_000)
    other = sandbox.issue_key()
    with httpx.Client(
        base_url=sandbox.base_url, headers={"X-Api-Key": sandbox.api_key}, timeout=10
    ) as client:
        statuses = [
            (
                client.get(LIST) if i % 2 else client.post(REGISTER, json={"preferences": "a", "count": 1})
            ).status_code
            for i in range(60)
        ]
        assert statuses == [200] * 60
        for limited in (client.get(LIST), client.post(REGISTER, json={"preferences": "a", "count": 1})):
            assert_error(limited, 429, "Too many requests. Please retry after a short delay.")
            assert "retry-after" not in limited.headers
            assert not any(name.startswith("x-ratelimit") for name in limited.headers)
        assert client.get(LIST, headers={"X-Api-Key": other}).status_code == 200
    assert sandbox.account()["available"] == 100_000 - 30 * 10
    assert sandbox.stats()["rate_limited"] == 2


@pytest.mark.parametrize("rate_limit", [None, 0])
def test_rate_limit_can_be_turned_off(make_sandbox: MakeSandbox, rate_limit: int | None) -> None:
    sandbox = make_sandbox(rate_limit=rate_limit, library=0)
    with httpx.Client(
        base_url=sandbox.base_url, headers={"X-Api-Key": sandbox.api_key}, timeout=10
    ) as client:
        assert {client.get(LIST).status_code for _ in range(80)} == {200}


# Credits


def test_get_is_free(api: httpx.Client, sandbox: Sandbox) -> None:
    for _ in range(5):
        api.get(LIST)
    assert sandbox.account() == {"available": 1000, "reserved": 0, "consumed": 0, "refunded": 0}


@pytest.mark.parametrize("sandbox", [{"failure_rate": 0.5, "seed": 5}], indirect=True)
def test_register_reserves_up_front_then_settles_each_item(
    api: httpx.Client, sandbox: Sandbox, wait_until_terminal: WaitTerminal, assert_settled: Settled
) -> None:
    body = api.post(REGISTER, json={"preferences": "walnut wood", "count": 12}).json()
    assert body["creditsReserved"] == 120
    right_after = sandbox.account()
    assert right_after["available"] == 880
    assert right_after["reserved"] + right_after["consumed"] + right_after["refunded"] == 120
    records = wait_until_terminal(sandbox, body["createdRecordIds"])
    done = sum(record["status"] == "DONE" for record in records.values())
    failed = sum(record["status"] == "FAILED" for record in records.values())
    assert done and failed and done + failed == 12
    assert_settled(sandbox, credits=1000, done=done, failed=failed)


def test_retried_post_without_idempotency_key_is_a_second_charged_job(
    api: httpx.Client, sandbox: Sandbox
) -> None:
    first = api.post(REGISTER, json={"preferences": "white", "count": 2}).json()
    second = api.post(REGISTER, json={"preferences": "white", "count": 2}).json()
    assert first["batchId"] != second["batchId"]
    assert set(first["createdRecordIds"]).isdisjoint(second["createdRecordIds"])
    assert sandbox.account()["available"] == 960


# GET /api/external/sceneries


@pytest.mark.shared_sandbox
def test_list_shape(api: httpx.Client, sandbox: Sandbox) -> None:
    body = api.get(LIST).json()
    assert set(body) == {"sceneries", "count"} and body["count"] == len(body["sceneries"]) == 12
    for item in body["sceneries"]:
        assert set(item) == {"id", "name", "thumbnail", "status", "voting", "createdAt"}
        assert all(isinstance(item[field], str) and item[field] for field in item)
        assert TIMESTAMP.fullmatch(item["createdAt"])
        assert item["status"] == "DONE"
        assert item["thumbnail"] == f"{sandbox.cdn_url}/sceneries/{item['id']}.jpg"
    assert len({item["id"] for item in body["sceneries"]}) == 12
    assert len({item["name"] for item in body["sceneries"]}) == 12


@pytest.mark.shared_sandbox
def test_library_has_approved_pending_and_one_rejected(api: httpx.Client) -> None:
    votes = [item["voting"] for item in api.get(LIST).json()["sceneries"]]
    assert votes.count("REJECTED") == 1 and votes.count("PENDING") >= 3 and votes.count("APPROVED") >= 5


@pytest.mark.shared_sandbox
def test_status_filter(api: httpx.Client) -> None:
    everything = api.get(LIST).json()
    assert api.get(LIST, params={"statusFilter": "all"}).json() == everything
    approved = api.get(LIST, params={"statusFilter": "approved"}).json()
    assert approved["count"] == sum(item["voting"] == "APPROVED" for item in everything["sceneries"])
    assert {item["voting"] for item in approved["sceneries"]} == {"APPROVED"}
    for bad in ("APPROVED", "pending", ""):
        assert_error(
            api.get(LIST, params={"statusFilter": bad}), 400, "'statusFilter' must be 'all' or 'approved'."
        )


def test_whole_list_comes_back_without_pagination(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(library=150)
    body = httpx.get(sandbox.base_url + LIST, headers={"X-Api-Key": sandbox.api_key}, timeout=10).json()
    assert body["count"] == len(body["sceneries"]) == 150


def test_newest_first(api: httpx.Client) -> None:
    created = api.post(REGISTER, json={"preferences": "white", "count": 2}).json()["createdRecordIds"]
    items = api.get(LIST).json()["sceneries"]
    stamps = [item["createdAt"] for item in items]
    assert stamps == sorted(stamps, reverse=True)
    assert {item["id"] for item in items[:2]} == set(created)


# POST /api/external/sceneries/register-ideas


def test_register_response_shape(api: httpx.Client) -> None:
    response = api.post(REGISTER, json={"preferences": "white marble", "count": 3})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"createdRecordIds", "batchId", "orderId", "reservationId", "creditsReserved"}
    assert len(set(body["createdRecordIds"])) == 3 and all(
        isinstance(i, str) for i in body["createdRecordIds"]
    )
    assert all(
        isinstance(body[field], str) and body[field] for field in ("batchId", "orderId", "reservationId")
    )
    assert body["creditsReserved"] == 30 and type(body["creditsReserved"]) is int


def test_count_defaults_to_ten_and_allows_twenty(api: httpx.Client) -> None:
    assert api.post(REGISTER, json={"preferences": "white"}).json()["creditsReserved"] == 100
    assert (
        len(api.post(REGISTER, json={"preferences": "white", "count": 20}).json()["createdRecordIds"]) == 20
    )
    assert_error(
        api.post(REGISTER, json={"preferences": "white", "count": 21}), 400, "'count' must be at most 20."
    )


def test_lifecycle_pending_processing_done_with_thumbnail_only_when_done(
    make_sandbox: MakeSandbox, wait_until_terminal: WaitTerminal
) -> None:
    sandbox = make_sandbox(processing_seconds=(0.4, 0.4), worker_concurrency=1, library=0)
    headers = {"X-Api-Key": sandbox.api_key}
    with httpx.Client(base_url=sandbox.base_url, headers=headers, timeout=10) as client:
        ids = client.post(REGISTER, json={"preferences": "concrete", "count": 3}).json()["createdRecordIds"]
        seen: list[list[str]] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            items = {item["id"]: item for item in client.get(LIST).json()["sceneries"]}
            statuses = [items[i]["status"] for i in ids]
            seen.append(statuses)
            for record in items.values():
                assert (record["thumbnail"] is None) == (record["status"] != "DONE")
                assert record["voting"] == "PENDING"
            if set(statuses) == {"DONE"}:
                break
            time.sleep(0.05)
    assert "DONE" not in seen[0] and "PENDING" in seen[0]
    assert any(s.count("PROCESSING") == 1 and "PENDING" in s for s in seen), seen
    assert all(s.count("PROCESSING") <= 1 for s in seen)
    assert set(seen[-1]) == {"DONE"}
    assert wait_until_terminal(sandbox, ids)


BAD_BODIES: list[tuple[bytes, str]] = [
    (b"", "Request body must be valid JSON."),
    (b"{", "Request body must be valid JSON."),
    (b"\xff\xfe{}", "Request body must be valid JSON."),
    (b'{"preferences": NaN}', "Request body must be valid JSON."),
    (b"[" * 10_000 + b"]" * 10_000, "Request body must be valid JSON."),
    (b"[]", "Request body must be a JSON object."),
    (b"null", "Request body must be a JSON object."),
    (b'{"count": 2}', "'preferences' is required."),
    (b'{"preferences": ["a"]}', "'preferences' must be a string."),
    (b'{"preferences": "  "}', "'preferences' must not be blank."),
    (b'{"preferences": "marble \\ud800 room"}', "'preferences' must be valid Unicode text."),
    (json.dumps({"preferences": "a" * 2001}).encode(), "'preferences' must be at most 2000 characters."),
    (b'{"preferences": "a", "count": "2"}', "'count' must be an integer."),
    (b'{"preferences": "a", "count": false}', "'count' must be an integer."),
    (b'{"preferences": "a", "count": 5.5}', "'count' must be an integer."),
    (b'{"preferences": "a", "count": 0}', "'count' must be at least 1."),
    (b'{"preferences": "a", "count": -3}', "'count' must be at least 1."),
    (b'{"preferences": "a", "count": 21}', "'count' must be at most 20."),
]


def test_validation_errors_name_the_field_and_charge_nothing(api: httpx.Client, sandbox: Sandbox) -> None:
    for content, message in BAD_BODIES:
        response = api.post(REGISTER, content=content, headers={"Content-Type": "application/json"})
        assert_error(response, 400, message)
    assert sandbox.account()["available"] == 1000
    assert api.get(LIST).json()["count"] == 12


def test_bodies_over_64_kib_get_413(api: httpx.Client, sandbox: Sandbox) -> None:
    at_limit = json.dumps({"preferences": "a", "count": 1, "pad": "x" * (64 * 1024 - 50)}).encode()
    at_limit += b" " * (64 * 1024 - len(at_limit))
    assert len(at_limit) == 64 * 1024
    assert api.post(REGISTER, content=at_limit).status_code == 200
    assert_error(api.post(REGISTER, content=at_limit + b" "), 413)
    assert_error(api.post(REGISTER, content=b"x" * (5 * 1024 * 1024)), 413)
    chunks = (b" " * 8192 for _ in range(10))
    assert_error(api.post(REGISTER, content=chunks), 413)
    assert api.get(LIST).status_code == 200
    assert sandbox.account()["available"] == 990


# Correlation ids and the log


def test_every_response_carries_its_own_correlation_id(sandbox: Sandbox, api: httpx.Client) -> None:
    thumbnail = api.get(LIST).json()["sceneries"][0]["thumbnail"]
    responses = [
        api.get(LIST),
        api.post(REGISTER, json={"preferences": "a", "count": 1}),
        api.post(REGISTER, json={}),
        api.get("/nowhere"),
        api.put(LIST),
        httpx.get(sandbox.base_url + LIST),
        httpx.get(thumbnail),
        httpx.get(sandbox.cdn_url + "/nothing"),
    ]
    ids = [response.headers.get("x-correlation-id") for response in responses]
    assert all(ids) and len(set(ids)) == len(ids)


def test_correlation_id_is_in_the_server_log_line(
    api: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="qamera_widgets.sandbox"):
        response = api.post(REGISTER, json={"preferences": "a", "count": 1})
        rejected = api.post(REGISTER, json={"preferences": ""})
        time.sleep(0.05)
    for answered in (response, rejected):
        lines = [
            r.getMessage() for r in caplog.records if answered.headers["x-correlation-id"] in r.getMessage()
        ]
        assert len(lines) == 1 and REGISTER in lines[0] and str(answered.status_code) in lines[0]
    assert all(api.headers["x-api-key"] not in record.getMessage() for record in caplog.records)


@pytest.mark.shared_sandbox
def test_a_caller_supplied_correlation_id_is_kept_when_sane(api: httpx.Client) -> None:
    assert api.get(LIST, headers={"X-Correlation-Id": "trace-42"}).headers["x-correlation-id"] == "trace-42"
    assert api.get(LIST, headers={"X-Correlation-Id": "bad id\t!"}).headers["x-correlation-id"] != "bad id\t!"


# Faults and the admin endpoints


def test_api_error_fault_gives_500_and_charges_nothing(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.set_faults(api_error_rate=1.0)
    assert_error(api.post(REGISTER, json={"preferences": "a"}), 500, "Internal server error.")
    sandbox.set_faults(api_error_rate=0.0)
    assert api.get(LIST).status_code == 200
    assert sandbox.account()["available"] == 1000
    assert sandbox.stats()["injected_errors"] == 1


def test_api_latency_fault(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.set_faults(api_latency_ms=300)
    started = time.monotonic()
    assert api.get(LIST).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_admin_endpoints_need_the_admin_token(sandbox: Sandbox) -> None:
    with anonymous(sandbox) as client:
        for method, path in (
            ("GET", "/sandbox/account"),
            ("GET", "/sandbox/stats"),
            ("POST", "/sandbox/faults"),
        ):
            assert_error(client.request(method, path), 401)
            assert_error(client.request(method, path, headers={"X-Api-Key": sandbox.api_key}), 401)
            assert_error(
                client.request(method, path, headers={"Authorization": f"Bearer {sandbox.api_key}"}), 401
            )
        admin = {"Authorization": f"Bearer {sandbox.admin_token}"}
        assert client.get("/sandbox/account", headers=admin).json() == sandbox.account()
        assert (
            client.get("/sandbox/stats", headers={"X-Admin-Token": sandbox.admin_token}).json()[
                "api_requests"
            ]
            == 0
        )


def test_faults_and_accounts_over_http(sandbox: Sandbox) -> None:
    other = sandbox.issue_key(credits=70)
    admin = {"X-Admin-Token": sandbox.admin_token}
    with anonymous(sandbox) as client:
        changed = client.post(
            "/sandbox/faults", json={"cdn_latency_ms": 5, "drop_after_register": 1}, headers=admin
        )
        assert changed.json()["cdn_latency_ms"] == 5 and changed.json()["drop_after_register"] == 1
        assert_error(client.post("/sandbox/faults", json={"api_error_rate": 2}, headers=admin), 400)
        assert_error(client.post("/sandbox/faults", json={"bogus": 1}, headers=admin), 400)
        assert_error(client.post("/sandbox/faults", content=b"[", headers=admin), 400)
        key_id = other.split(".", 1)[0].removeprefix("mk_live_")
        assert (
            client.get("/sandbox/account", params={"key_id": key_id}, headers=admin).json()["available"] == 70
        )
        assert_error(client.get("/sandbox/account", params={"key_id": "nope"}, headers=admin), 404)
        issued = client.post("/sandbox/keys", json={"credits": 30}, headers=admin).json()["apiKey"]
    assert sandbox.account(issued)["available"] == 30


def test_stats_count_requests_by_kind(api: httpx.Client, sandbox: Sandbox) -> None:
    api.get(LIST)
    api.get(LIST)
    api.post(REGISTER, json={"preferences": "a", "count": 1})
    api.post(REGISTER, json={"preferences": ""})
    api.get("/nowhere")
    stats = sandbox.stats()
    assert (stats["api_requests"], stats["list_requests"], stats["register_requests"]) == (5, 2, 2)
    assert stats["registered_batches"] == 1
    sandbox.reset_stats()
    assert set(sandbox.stats().values()) == {0}


# Bad input never takes the server down


BODIES = st.one_of(
    st.binary(max_size=300),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children),
        max_leaves=12,
    ).map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries(
        {"preferences": st.one_of(st.text(max_size=40), st.integers()), "count": st.integers(-5, 30)}
    ).map(lambda value: json.dumps(value).encode()),
)


def test_arbitrary_bodies_get_200_or_a_json_400(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(credits=10**9, library=0)

    @settings(max_examples=60, deadline=None)
    @given(body=BODIES)
    def post(body: bytes) -> None:
        response = httpx.post(
            sandbox.base_url + REGISTER, content=body, headers={"X-Api-Key": sandbox.api_key}
        )
        if response.status_code != 200:
            assert_error(response, 400)

    post()
    assert sandbox.audit() == []
    assert httpx.get(sandbox.base_url + LIST, headers={"X-Api-Key": sandbox.api_key}).status_code == 200


@pytest.mark.shared_sandbox
def test_garbage_on_the_wire_does_not_stop_the_server(api: httpx.Client, sandbox: Sandbox) -> None:
    port = int(sandbox.base_url.rsplit(":", 1)[1])
    for garbage in (
        b"\x00\xff\x10GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"POST ",
    ):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(garbage)
            raw.shutdown(socket.SHUT_WR)
            raw.recv(4096)
    assert api.get(LIST).status_code == 200
    assert_error(api.get(LIST, headers={"X-Api-Key": "mk_live_" + "a" * 5000 + ".b"}), 401)


def test_attach_steers_a_sandbox_from_another_process_over_http(sandbox: Sandbox) -> None:
    attached = attach(sandbox.base_url, sandbox.admin_token, api_key=sandbox.api_key)
    assert attached.cdn_url == sandbox.cdn_url
    assert sandbox.admin_token not in repr(attached) and sandbox.api_key not in repr(attached)
    poor = attached.issue_key(credits=20)
    assert (
        attached.account(poor)
        == sandbox.account(poor)
        == {
            "available": 20,
            "reserved": 0,
            "consumed": 0,
            "refunded": 0,
        }
    )
    httpx.post(
        sandbox.base_url + REGISTER, json={"preferences": "a", "count": 1}, headers={"X-Api-Key": poor}
    )
    assert attached.account(poor)["available"] == 10
    assert attached.account() == sandbox.account()
    attached.set_faults(api_latency_ms=1)
    faults = httpx.get(sandbox.base_url + "/sandbox/faults", headers={"X-Admin-Token": sandbox.admin_token})
    assert faults.json()["api_latency_ms"] == 1
    assert attached.stats()["register_requests"] == 1
    attached.reset_stats()
    assert sandbox.stats()["register_requests"] == 0
    attached.stop()
    assert httpx.get(sandbox.base_url + LIST, headers={"X-Api-Key": sandbox.api_key}).status_code == 200
    with pytest.raises(RuntimeError, match="401"):
        attach(sandbox.base_url, "wrong-token")
