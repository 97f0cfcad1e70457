"""The one retry policy of every outbound platform call (adapters.http), against ``responses``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
import responses

from adapters.errors import PlatformRefused, PlatformUnavailable
from adapters.http import HttpClient, retry_after

URL = "https://api.example.test/v1/thing"


@pytest.fixture
def waits():
    return []


@pytest.fixture
def client(waits):
    return HttpClient("demo", attempts=3, backoff=0.5, max_retry_after=30, sleep=waits.append)


@responses.activate
def test_a_success_is_returned_at_once(client, waits):
    responses.get(URL, json={"ok": 1})
    assert client.json("GET", URL) == {"ok": 1}
    assert waits == [] and len(responses.calls) == 1


@responses.activate
def test_5xx_is_retried_with_backoff_then_succeeds(client, waits):
    responses.get(URL, status=502)
    responses.get(URL, status=503)
    responses.get(URL, json={"ok": 1})
    assert client.json("GET", URL) == {"ok": 1}
    assert len(waits) == 2 and 0 <= waits[0] <= 0.5 and 0 <= waits[1] <= 1.0


@responses.activate
def test_5xx_beyond_the_attempts_is_unavailable(client):
    responses.get(URL, status=500)
    with pytest.raises(PlatformUnavailable, match="500"):
        client.request("GET", URL)
    assert len(responses.calls) == 3


@responses.activate
def test_429_waits_what_retry_after_says(client, waits):
    responses.get(URL, status=429, headers={"Retry-After": "7"})
    responses.get(URL, json={"ok": 1})
    assert client.json("GET", URL) == {"ok": 1}
    assert waits == [7.0]


@responses.activate
def test_429_asking_for_too_long_is_unavailable_at_once(client, waits):
    responses.get(URL, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(PlatformUnavailable, match="429"):
        client.request("GET", URL)
    assert waits == [] and len(responses.calls) == 1


@responses.activate
def test_4xx_is_refused_without_retry_and_names_the_platform_code(client):
    responses.post(URL, status=401, json={"errcode": "40001", "errmsg": "invalid token"})
    with pytest.raises(PlatformRefused) as refused:
        client.request("POST", URL, json={})
    assert refused.value.status == 401 and refused.value.platform_code == "40001"
    assert "invalid token" in refused.value.message
    assert len(responses.calls) == 1


@responses.activate
def test_timeouts_are_retried_then_unavailable(client, waits):
    responses.get(URL, body=requests.ReadTimeout("slow"))
    responses.get(URL, body=requests.ConnectionError("refused"))
    responses.get(URL, body=requests.ReadTimeout("slow"))
    with pytest.raises(PlatformUnavailable, match="ReadTimeout"):
        client.request("GET", URL)
    assert len(waits) == 2


@responses.activate
def test_a_call_that_must_not_repeat_is_tried_once(client, waits):
    responses.post(URL, body=requests.ReadTimeout("slow"))
    with pytest.raises(PlatformUnavailable):
        client.request("POST", URL, retry=False)
    assert waits == [] and len(responses.calls) == 1


@responses.activate
def test_a_non_json_answer_is_unavailable(client):
    responses.get(URL, body="<html>maintenance</html>")
    with pytest.raises(PlatformUnavailable, match="non-JSON"):
        client.json("GET", URL)


@responses.activate
def test_query_strings_never_reach_error_messages(client):
    responses.get(URL, status=403)
    with pytest.raises(PlatformRefused) as refused:
        client.request("GET", URL + "?access_token=SECRET")
    assert "SECRET" not in refused.value.message


def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
    assert retry_after("12", default=1) == 12.0
    assert retry_after("Mon, 23 Nov 2026 12:00:30 GMT", default=1, now=now) == 30.0
    assert retry_after("Mon, 23 Nov 2026 11:00:00 GMT", default=1, now=now) == 0.0
    assert retry_after("soon", default=1.5) == 1.5
    assert retry_after(None, default=2) == 2
