"""Identity verification before a first withdrawal (adapters.payouts.verification), against ``responses``."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import pytest
import requests
import responses

from adapters.errors import AdapterError, PlatformRefused, PlatformUnavailable
from adapters.http import HttpClient
from adapters.payouts.verification import (
    DEFAULT_REASON,
    PROVIDERS,
    REASONS,
    AcceptingProvider,
    HttpIdentityProvider,
    IdentityCheck,
    UnknownProvider,
    Verdict,
    provider,
)

URL = "https://verify.example.test/v1/check"
SECRET = "proxy-secret"
ID_NUMBER = "11010519491231002X"
ACCOUNT = "6222020200112233445"
CHECK = IdentityCheck("王小明", ID_NUMBER, "bank", ACCOUNT)
SENT_AT = 1_790_000_000


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@pytest.fixture
def verifier():
    return HttpIdentityProvider(URL, SECRET, client=HttpClient("idv", attempts=3, sleep=lambda s: None))


def reply(verifier, status=200, secret=SECRET, timestamp="1790000003", **answer):
    """Register one signed answer; ``request_id`` defaults to the one of ``CHECK``."""
    answer.setdefault("request_id", verifier.request_id(CHECK))
    body = json.dumps(answer).encode()
    signature = "sha256=" + hmac_hex(secret, timestamp.encode() + b"." + body)
    headers = {"X-Fenxiao-Timestamp": timestamp, "X-Fenxiao-Signature": signature}
    responses.post(URL, body=body, status=status, headers=headers, content_type="application/json")


def refusal(verifier, exc_type):
    with pytest.raises(exc_type) as caught:
        verifier.verify(CHECK, timestamp=SENT_AT)
    text = f"{caught.value} {caught.value!r} {caught.value.to_dict()}"
    assert ID_NUMBER not in text and ACCOUNT not in text
    return caught.value


@responses.activate
def test_a_pass_sends_the_exact_signed_body_and_passes(verifier):
    reply(verifier, result="pass", reference="chk-1")
    assert verifier.verify(CHECK, timestamp=SENT_AT) == Verdict(True, None, None, "chk-1")
    (call,) = responses.calls
    body = call.request.body
    request_id = "idv_" + hmac_hex(SECRET, f"bank|{ACCOUNT}|王小明|{ID_NUMBER}".encode())[:32]
    assert json.loads(body) == {
        "request_id": request_id,
        "real_name": "王小明",
        "id_number": ID_NUMBER,
        "channel": "bank",
        "account": ACCOUNT,
    }
    assert (
        body
        == (
            '{"request_id":"' + request_id + '","real_name":"王小明","id_number":"' + ID_NUMBER + '",'
            '"channel":"bank","account":"' + ACCOUNT + '"}'
        ).encode()
    )
    assert call.request.headers["X-Fenxiao-Timestamp"] == str(SENT_AT)
    expected = "sha256=" + hmac_hex(SECRET, f"{SENT_AT}.".encode() + body)
    assert call.request.headers["X-Fenxiao-Signature"] == expected
    assert call.request.headers["Content-Type"] == "application/json; charset=utf-8"


def test_the_request_id_is_deterministic_and_reveals_no_id_number(verifier):
    assert verifier.request_id(CHECK) == verifier.request_id(
        IdentityCheck("王小明", ID_NUMBER, "bank", ACCOUNT)
    )
    assert verifier.request_id(CHECK) != verifier.request_id(
        IdentityCheck("王晓明", ID_NUMBER, "bank", ACCOUNT)
    )
    assert ID_NUMBER not in verifier.request_id(CHECK)
    assert verifier.request_id(CHECK) != "idv_" + hashlib.sha256(ID_NUMBER.encode()).hexdigest()[:32]


@responses.activate
def test_a_fail_carries_the_services_code_and_sentence(verifier):
    reply(
        verifier, result="fail", reason_code="name_mismatch", reason="姓名与身份证号不符", reference="chk-2"
    )
    assert verifier.verify(CHECK, timestamp=SENT_AT) == Verdict(
        False, "name_mismatch", "姓名与身份证号不符", "chk-2"
    )


@pytest.mark.parametrize(
    ("code", "verdict"),
    [
        ("account_mismatch", Verdict(False, "account_mismatch", REASONS["account_mismatch"])),
        ("card_frozen", Verdict(False, "card_frozen", DEFAULT_REASON)),
        (None, Verdict(False, "unverified", DEFAULT_REASON)),
    ],
)
@responses.activate
def test_a_fail_without_a_reason_gets_a_sentence_and_keeps_an_unknown_code(verifier, code, verdict):
    reply(verifier, result="fail", reason_code=code)
    assert verifier.verify(CHECK, timestamp=SENT_AT) == verdict


@responses.activate
def test_a_badly_signed_answer_is_not_trusted(verifier):
    reply(verifier, secret="someone-else", result="pass")
    error = refusal(verifier, PlatformUnavailable)
    assert "signature does not match" in str(error)


@responses.activate
def test_an_unsigned_answer_is_not_trusted(verifier):
    responses.post(URL, json={"request_id": verifier.request_id(CHECK), "result": "pass"})
    error = refusal(verifier, PlatformUnavailable)
    assert "X-Fenxiao-Signature" in str(error)


@responses.activate
def test_a_signed_answer_for_another_check_is_not_trusted(verifier):
    other = IdentityCheck("李四", "110105194912310037", "bank", ACCOUNT)
    reply(verifier, result="pass", request_id=verifier.request_id(other))
    error = refusal(verifier, PlatformUnavailable)
    assert "request_id" in str(error)


@pytest.mark.parametrize("answer", [{"result": "maybe"}, {"result": "fail", "reason": 42}, {}])
@responses.activate
def test_an_answer_that_is_not_pass_or_a_readable_fail_is_unavailable(verifier, answer):
    reply(verifier, **answer)
    refusal(verifier, PlatformUnavailable)


@responses.activate
def test_a_timeout_is_retried_then_unavailable(verifier, caplog):
    responses.post(URL, body=requests.ConnectTimeout(f"timed out sending {ID_NUMBER}"))
    with caplog.at_level(logging.DEBUG):
        refusal(verifier, PlatformUnavailable)
    assert len(responses.calls) == 3
    assert ID_NUMBER not in caplog.text and ACCOUNT not in caplog.text


@responses.activate
def test_a_5xx_is_retried_then_unavailable(verifier):
    responses.post(URL, status=500, body=f"upstream failed for {ID_NUMBER}")
    error = refusal(verifier, PlatformUnavailable)
    assert "500" in str(error) and len(responses.calls) == 3


@responses.activate
def test_a_5xx_then_a_pass_passes(verifier):
    responses.post(URL, status=503)
    reply(verifier, result="pass")
    assert verifier.verify(CHECK, timestamp=SENT_AT) == Verdict(True)
    assert responses.calls[0].request.body == responses.calls[1].request.body


@responses.activate
def test_a_4xx_is_refused_without_quoting_the_check(verifier):
    responses.post(
        URL, status=400, json={"code": "bad_request", "message": f"bad id {ID_NUMBER} for {ACCOUNT}"}
    )
    error = refusal(verifier, PlatformRefused)
    assert (error.status, error.platform_code) == (400, "bad_request")
    assert str(error) == "identity provider refused the check: HTTP 400"
    assert error.__suppress_context__ and error.__cause__ is None
    assert len(responses.calls) == 1


@responses.activate
def test_a_4xx_code_holding_the_id_number_is_dropped(verifier):
    responses.post(URL, status=422, json={"error": f"id_{ID_NUMBER}"})
    assert refusal(verifier, PlatformRefused).platform_code is None


@responses.activate
def test_a_redirect_is_refused_and_not_followed(verifier):
    responses.post(URL, status=302, headers={"Location": "https://elsewhere.example.test/"})
    assert refusal(verifier, PlatformRefused).status == 302
    assert [call.request.url for call in responses.calls] == [URL]


def test_the_check_repr_hides_the_id_number_and_account():
    assert ID_NUMBER not in repr(CHECK) and ACCOUNT not in repr(CHECK) and "王小明" in repr(CHECK)


@pytest.mark.parametrize(
    ("url", "secret", "field"),
    [("http://verify.example.test/", SECRET, "url"), (URL, "", "secret")],
)
def test_an_insecure_configuration_is_refused(url, secret, field):
    with pytest.raises(AdapterError) as caught:
        HttpIdentityProvider(url, secret)
    assert caught.value.field == field


def test_localhost_may_be_plain_http():
    assert HttpIdentityProvider("http://127.0.0.1:8099/check", SECRET).url == "http://127.0.0.1:8099/check"


def test_the_accepting_provider_passes_everyone():
    assert AcceptingProvider().verify(CHECK) == Verdict(True, None, None, None)
    assert AcceptingProvider.name == "none"


def test_the_registry_builds_providers_by_name():
    assert set(PROVIDERS) == {"none", "http"}
    assert isinstance(provider("none"), AcceptingProvider)
    built = provider("http", url=URL, secret=SECRET)
    assert isinstance(built, HttpIdentityProvider) and (built.name, built.url) == ("http", URL)


def test_an_unknown_provider_name_is_an_adapter_error():
    with pytest.raises(UnknownProvider) as caught:
        provider("faceid")
    assert isinstance(caught.value, AdapterError)
    assert caught.value.code == "unknown_provider" and caught.value.field == "provider"


@responses.activate
def test_an_unknown_channel_is_refused_before_any_call(verifier):
    with pytest.raises(AdapterError) as caught:
        verifier.verify(IdentityCheck("王小明", ID_NUMBER, "paypal", ACCOUNT))
    assert caught.value.field == "channel" and ID_NUMBER not in str(caught.value)
    assert len(responses.calls) == 0
