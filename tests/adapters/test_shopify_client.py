"""The Shopify client (adapters.clients.shopify): the authorize URL, the redirect's hmac, the
token exchange under the retry policy, and idempotent webhook registration, against a fake
Admin API built on ``responses``."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from adapters.base import AppCredentials, Token
from adapters.clients import shopify
from adapters.errors import PlatformRefused, PlatformUnavailable, SignatureError
from adapters.http import HttpClient
from adapters.shopify import ShopifyAdapter
from tests.conftest import fixture_json

DOMAIN = "demo-shop.myshopify.com"
BASE = f"https://{DOMAIN}"
SECRET = "shpss_test_secret_0123456789"
CREDENTIALS = AppCredentials("shopify", "app-client-id", SECRET, shop_ref=DOMAIN)
ADDRESS = "https://fenxiao.example.com/webhooks/shopify/1"
TOPICS = ("orders/paid", "orders/fulfilled", "orders/cancelled", "orders/updated", "refunds/create")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class FakeShopify:
    """One shop's Admin API as ``responses`` callbacks: it issues tokens for known codes (each
    once) and keeps the app's webhook subscriptions, answering as Shopify documents."""

    def __init__(self, mock, *, base: str = BASE, codes=None, subscriptions=(), page_size: int = 250):
        self.codes = dict(codes or {"good-code": fixture_json("shopify", "oauth_access_token")})
        self.tokens = {body["access_token"] for body in self.codes.values()}
        self.subscriptions = [dict(item) for item in subscriptions]
        self.next_id, self.page_size = 9000, page_size
        self.mock, self.refuse_creates = mock, False
        api = f"{base}/admin/api/{shopify.API_VERSION}"
        mock.add_callback("POST", f"{base}/admin/oauth/access_token", callback=self._exchange)
        mock.add_callback("GET", f"{api}/webhooks.json", callback=self._list)
        mock.add_callback("POST", f"{api}/webhooks.json", callback=self._create)
        mock.add_callback("PUT", re.compile(re.escape(api) + r"/webhooks/\d+\.json"), callback=self._move)

    def calls(self, method: str, path: str) -> list:
        return [
            call
            for call in self.mock.calls
            if call.request.method == method and urlsplit(call.request.url).path.endswith(path)
        ]

    def by_topic(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for item in self.subscriptions:
            found.setdefault(item["topic"], []).append(item["address"])
        return found

    def _exchange(self, request):
        form = {key: values[0] for key, values in parse_qs(request.body).items()}
        if (form.get("client_id"), form.get("client_secret")) != ("app-client-id", SECRET):
            return 400, {}, json.dumps({"error": "invalid_client"})
        body = self.codes.pop(form.get("code"), None)
        if body is None:
            return (
                400,
                {},
                json.dumps({"error": "invalid_request", "error_description": "code was already used"}),
            )
        return 200, {}, json.dumps(body)

    def _refused(self, request):
        if request.headers.get("X-Shopify-Access-Token") not in self.tokens:
            return 401, {}, json.dumps({"errors": "[API] Invalid API key or access token"})
        return None

    def _list(self, request):
        refused = self._refused(request)
        if refused:
            return refused
        page = int(parse_qs(urlsplit(request.url).query).get("page_info", ["0"])[0])
        start = page * self.page_size
        items = self.subscriptions[start : start + self.page_size]
        headers = {}
        if start + self.page_size < len(self.subscriptions):
            following = f"{request.url.split('?')[0]}?limit={self.page_size}&page_info={page + 1}"
            headers["Link"] = f'<{following}>; rel="next"'
        return 200, headers, json.dumps({"webhooks": items})

    def _create(self, request):
        refused = self._refused(request)
        if refused:
            return refused
        if self.refuse_creates:
            return (
                403,
                {},
                json.dumps({"errors": "This action requires merchant approval for read_orders scope."}),
            )
        wanted = json.loads(request.body)["webhook"]
        if any(
            item["topic"] == wanted["topic"] and item["address"] == wanted["address"]
            for item in self.subscriptions
        ):
            return 422, {}, json.dumps({"errors": {"address": ["for this topic has already been taken"]}})
        self.next_id += 1
        created = {"id": self.next_id, **wanted, "api_version": shopify.API_VERSION}
        self.subscriptions.append(created)
        return 201, {}, json.dumps({"webhook": created})

    def _move(self, request):
        refused = self._refused(request)
        if refused:
            return refused
        webhook_id = int(request.url.rsplit("/", 1)[1].split(".")[0])
        item = next(item for item in self.subscriptions if item["id"] == webhook_id)
        item["address"] = json.loads(request.body)["webhook"]["address"]
        return 200, {}, json.dumps({"webhook": item})


class MemoryTokens:
    def __init__(self, token: Token | None = None):
        self.token = token

    def load(self):
        return self.token

    def save(self, token):
        self.token = token


@pytest.fixture
def waits():
    return []


@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def client(waits, tokens=None, credentials=CREDENTIALS) -> shopify.ShopifyClient:
    http = HttpClient("shopify", attempts=3, sleep=waits.append)
    return shopify.ShopifyClient(credentials, tokens or MemoryTokens(), http, now=lambda: NOW)


def installed(waits) -> shopify.ShopifyClient:
    return client(waits, MemoryTokens(Token("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")))


def calls(mock, method: str) -> list:
    return [call for call in mock.calls if call.request.method == method]


# --------------------------------------------------------------------------- authorize URL


def test_the_authorize_url_asks_the_shop_for_an_offline_grant():
    url = shopify.authorize_url(
        CREDENTIALS, DOMAIN, ["read_orders", "write_orders"], "https://fenxiao.example.com/cb?x=1", "n0nce"
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", DOMAIN, "/admin/oauth/authorize")
    assert parse_qs(parts.query) == {
        "client_id": ["app-client-id"],
        "scope": ["read_orders,write_orders"],
        "redirect_uri": ["https://fenxiao.example.com/cb?x=1"],
        "state": ["n0nce"],
    }  # no grant_options[]=per-user: an offline token


def test_api_base_replaces_the_shops_address():
    local = AppCredentials(
        "shopify", "app-client-id", SECRET, shop_ref=DOMAIN, api_base="http://127.0.0.1:9/"
    )
    assert shopify.authorize_url(local, DOMAIN, ["read_orders"], "https://x/cb", "s").startswith(
        "http://127.0.0.1:9/admin/oauth/authorize?"
    )


@pytest.mark.parametrize(
    "domain, valid",
    [
        ("demo-shop.myshopify.com", True),
        ("Demo1.myshopify.com", True),
        ("-demo.myshopify.com", False),
        ("demo.myshopify.com.evil.test", False),
        ("evil.test/x.myshopify.com", False),
        ("demo.myshopify.com\n", False),
        ("demo.myshopify.com:443", False),
        ("demo.shopify.com", False),
        ("", False),
        (None, False),
    ],
)
def test_only_a_whole_myshopify_host_is_a_shop_domain(domain, valid):
    assert shopify.valid_shop_domain(domain) is valid


def test_an_authorize_url_for_another_host_is_refused():
    with pytest.raises(PlatformRefused, match="myshopify.com"):
        shopify.authorize_url(
            CREDENTIALS, "demo.myshopify.com.evil.test", ["read_orders"], "https://x/cb", "s"
        )


# --------------------------------------------------------------------------- the redirect's hmac


@pytest.mark.parametrize(
    "query, secret, expected",
    [
        # the example of Shopify's OAuth docs, as the official Python library's tests keep it
        (
            {
                "shop": "some-shop.myshopify.com",
                "code": "a94a110d86d2452eb3e2af4cfb8a3828",
                "timestamp": "1337178173",
            },
            "hush",
            "2cb1a277650a659f1b11e92a4a64275b128e037f2c3390e3c8fd2d8721dac9e2",
        ),
        (
            {
                "code": "0907a61c0c8d55e99db179b68161bc00",
                "shop": "some-shop.myshopify.com",
                "state": "0.6784241404160823",
                "timestamp": "1337178173",
            },
            "hush",
            "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf",
        ),
        (
            {"shop": "some-shop.myshopify.com", "ids[]": ["2", "1"]},
            "hush",
            "b93b9f82996f6f8bf9f1b7bbddec284c8fabacdc4e12dc80550b4705f3003b1e",
        ),
    ],
)
def test_the_hmac_is_the_one_shopify_computes(query, secret, expected):
    assert shopify.sign_callback(query, secret) == expected
    shopify.verify_callback({**query, "hmac": expected}, [secret])


def test_delimiters_inside_values_are_escaped_so_pairs_cannot_be_forged():
    assert shopify.callback_message({"a": "1&b=2", "c=3&d": "4", "hmac": "x", "signature": "y"}) == (
        "a=1%26b=2&c%3D3%26d=4"
    )
    assert shopify.callback_message({"a": "1&b=2"}) != shopify.callback_message({"a": "1", "b": "2"})


def signed(query: dict, secret: str = SECRET) -> dict:
    return {**query, "hmac": shopify.sign_callback(query, secret)}


CALLBACK = {
    "code": "good-code",
    "host": "ZGVtbw",
    "shop": DOMAIN,
    "state": "n0nce",
    "timestamp": "1795000000",
}


def test_a_callback_signed_by_an_active_secret_passes_even_as_lists_of_values():
    shopify.verify_callback(signed(CALLBACK), SECRET)
    as_lists = {key: [value] for key, value in signed(CALLBACK).items()}  # request.args.to_dict(flat=False)
    shopify.verify_callback(as_lists, [SECRET])


def test_after_a_rotation_both_the_new_and_the_old_secret_verify():
    new = "shpss_rotated_secret_abcdef0123"
    shopify.verify_callback(signed(CALLBACK, SECRET), [new, SECRET])
    shopify.verify_callback(signed(CALLBACK, new), [new, SECRET])
    with pytest.raises(SignatureError):
        shopify.verify_callback(signed(CALLBACK, SECRET), [new])  # the old one has expired


@pytest.mark.parametrize(
    "tamper",
    [
        lambda q: {**q, "code": "another-code"},
        lambda q: {**q, "shop": "evil.myshopify.com"},
        lambda q: {**q, "extra": "1"},
        lambda q: {key: value for key, value in q.items() if key != "state"},
        lambda q: {**q, "hmac": q["hmac"].upper()},
        lambda q: {key: value for key, value in q.items() if key != "hmac"},
        lambda q: {**q, "hmac": ""},
    ],
)
def test_a_tampered_callback_is_refused(tamper):
    with pytest.raises(SignatureError) as refused:
        shopify.verify_callback(tamper(signed(CALLBACK)), [SECRET])
    assert refused.value.field == "hmac"


def test_a_callback_signed_with_another_secret_is_refused():
    with pytest.raises(SignatureError, match="none of the shop's secrets"):
        shopify.verify_callback(signed(CALLBACK, "someone-elses-secret-123"), [SECRET, ""])


def test_a_repeated_parameter_is_refused():
    query = {key: [value] for key, value in signed(CALLBACK).items()}
    query["code"] = ["good-code", "evil-code"]
    with pytest.raises(SignatureError, match="repeated"):
        shopify.verify_callback(query, [SECRET])


# --------------------------------------------------------------------------- token exchange


def test_the_code_is_exchanged_for_an_offline_token_which_is_saved(mock, waits):
    FakeShopify(mock)
    tokens = MemoryTokens()
    token = client(waits, tokens).exchange_code("good-code")
    assert token == Token("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", scopes="read_orders,write_orders")
    assert tokens.token == token
    (call,) = mock.calls
    assert call.request.url == f"{BASE}/admin/oauth/access_token"  # the secret is never in a URL
    assert parse_qs(call.request.body) == {
        "client_id": ["app-client-id"],
        "client_secret": [SECRET],
        "code": ["good-code"],
    }
    assert waits == []


def test_a_code_shopify_refuses_is_surfaced_and_nothing_is_saved(mock, waits):
    FakeShopify(mock)
    tokens = MemoryTokens()
    with pytest.raises(PlatformRefused) as refused:
        client(waits, tokens).exchange_code("used-code")
    assert refused.value.status == 400 and refused.value.platform_code == "invalid_request"
    assert tokens.token is None and len(mock.calls) == 1 and waits == []


def test_a_5xx_is_retried_then_the_token_arrives(mock, waits):
    url = f"{BASE}/admin/oauth/access_token"
    mock.post(url, status=502)
    mock.post(url, status=503)
    mock.post(url, json=fixture_json("shopify", "oauth_access_token"))
    assert client(waits).exchange_code("good-code").access_token.startswith("shpat_")
    assert len(mock.calls) == 3 and len(waits) == 2


def test_a_429_waits_what_retry_after_says(mock, waits):
    url = f"{BASE}/admin/oauth/access_token"
    mock.post(url, status=429, headers={"Retry-After": "3"})
    mock.post(url, json=fixture_json("shopify", "oauth_access_token"))
    client(waits).exchange_code("good-code")
    assert waits == [3.0]


def test_timeouts_end_as_platform_unavailable_and_nothing_is_saved(mock, waits):
    mock.post(f"{BASE}/admin/oauth/access_token", body=requests.ReadTimeout("slow"))
    tokens = MemoryTokens()
    with pytest.raises(PlatformUnavailable, match="ReadTimeout"):
        client(waits, tokens).exchange_code("good-code")
    assert tokens.token is None and len(mock.calls) == 3


def test_an_answer_without_a_token_is_refused(mock, waits):
    mock.post(f"{BASE}/admin/oauth/access_token", json={"scope": "read_orders"})
    with pytest.raises(PlatformRefused, match="without an access_token"):
        client(waits).exchange_code("good-code")


def test_an_expiring_offline_token_keeps_its_expiry_and_refresh_token(mock, waits):
    body = {
        **fixture_json("shopify", "oauth_access_token"),
        "expires_in": 3600,
        "refresh_token": "shprt_abc",
        "refresh_token_expires_in": 7776000,
    }
    mock.post(f"{BASE}/admin/oauth/access_token", json=body)
    token = client(waits).exchange_code("good-code")
    assert (token.expires_at, token.refresh_token, token.refresh_expires_at) == (
        NOW + timedelta(hours=1),
        "shprt_abc",
        NOW + timedelta(days=90),
    )


def test_an_exchange_without_the_apps_secret_calls_nothing(mock, waits):
    no_secret = AppCredentials("shopify", "app-client-id", "", shop_ref=DOMAIN)
    with pytest.raises(PlatformRefused, match="client_secret"):
        client(waits, credentials=no_secret).exchange_code("good-code")
    assert len(mock.calls) == 0


def test_access_token_needs_a_stored_unexpired_token(waits):
    with pytest.raises(PlatformRefused, match="no access token"):
        client(waits).access_token()
    expired = Token("shpat_old", expires_at=NOW - timedelta(seconds=1))
    with pytest.raises(PlatformRefused, match="expired"):
        client(waits, MemoryTokens(expired)).access_token()
    assert installed(waits).access_token() == "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"


# --------------------------------------------------------------------------- webhooks


def test_registration_creates_the_missing_moves_the_stale_and_keeps_the_rest(mock, waits):
    fake = FakeShopify(mock, subscriptions=fixture_json("shopify", "webhooks_list")["webhooks"])
    done = installed(waits).register_webhooks(ADDRESS, TOPICS)
    assert done == shopify.Registration(
        created=("orders/fulfilled", "orders/cancelled", "orders/updated"),
        updated=("orders/paid",),
        unchanged=("refunds/create",),
    )
    assert fake.by_topic() == {topic: [ADDRESS] for topic in TOPICS}
    (put,) = calls(mock, "PUT")
    assert put.request.url.endswith(f"/admin/api/{shopify.API_VERSION}/webhooks/4759306.json")
    assert json.loads(put.request.body) == {"webhook": {"id": 4759306, "address": ADDRESS}}
    created = [json.loads(call.request.body)["webhook"] for call in calls(mock, "POST")]
    assert created[0] == {"topic": "orders/fulfilled", "address": ADDRESS, "format": "json"}
    assert all(
        call.request.headers["X-Shopify-Access-Token"] == "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"
        for call in mock.calls
    )


def test_registering_again_creates_and_moves_nothing(mock, waits):
    fake = FakeShopify(mock)
    api = installed(waits)
    assert api.register_webhooks(ADDRESS, TOPICS).created == TOPICS
    before = len(mock.calls)
    assert api.register_webhooks(ADDRESS, TOPICS) == shopify.Registration(unchanged=TOPICS)
    assert [call.request.method for call in mock.calls[before:]] == ["GET"]
    assert fake.by_topic() == {topic: [ADDRESS] for topic in TOPICS}


def test_every_page_of_subscriptions_is_read(mock, waits):
    subscriptions = [
        {"id": n, "topic": topic, "address": ADDRESS, "format": "json"} for n, topic in enumerate(TOPICS, 1)
    ]
    FakeShopify(mock, subscriptions=subscriptions, page_size=2)
    assert [item["id"] for item in installed(waits).webhooks()] == [1, 2, 3, 4, 5]
    assert len(mock.calls) == 3
    assert installed(waits).register_webhooks(ADDRESS, TOPICS) == shopify.Registration(unchanged=TOPICS)


def test_a_create_that_times_out_is_not_resent_and_the_next_run_finishes(mock, waits):
    fake = FakeShopify(mock)
    api_path = f"{BASE}/admin/api/{shopify.API_VERSION}/webhooks.json"
    mock.replace(responses.POST, api_path, body=requests.ReadTimeout("slow"))
    with pytest.raises(PlatformUnavailable):
        installed(waits).register_webhooks(ADDRESS, TOPICS)
    assert len(calls(mock, "POST")) == 1 and waits == []
    mock.remove(responses.POST, api_path)
    mock.add_callback("POST", api_path, callback=fake._create)
    assert installed(waits).register_webhooks(ADDRESS, TOPICS).created == TOPICS


def test_registration_without_a_token_calls_nothing(mock, waits):
    with pytest.raises(PlatformRefused, match="no access token"):
        client(waits).register_webhooks(ADDRESS, TOPICS)
    assert len(mock.calls) == 0


def test_a_refused_subscription_is_surfaced(mock, waits):
    mock.get(f"{BASE}/admin/api/{shopify.API_VERSION}/webhooks.json", json={"webhooks": []})
    mock.post(
        f"{BASE}/admin/api/{shopify.API_VERSION}/webhooks.json",
        status=403,
        json={"errors": "This action requires merchant approval for read_orders scope."},
    )
    with pytest.raises(PlatformRefused) as refused:
        installed(waits).register_webhooks(ADDRESS, TOPICS)
    assert refused.value.status == 403 and "read_orders" in refused.value.message


def test_a_list_without_webhooks_is_unavailable(mock, waits):
    mock.get(f"{BASE}/admin/api/{shopify.API_VERSION}/webhooks.json", json={"errors": "Not Found"})
    with pytest.raises(PlatformUnavailable, match="without 'webhooks'"):
        installed(waits).webhooks()


def test_the_adapter_builds_the_client_for_a_shop():
    tokens = MemoryTokens()
    api = ShopifyAdapter().api_client(CREDENTIALS, tokens)
    assert isinstance(api, shopify.ShopifyClient)
    assert (api.credentials, api.tokens, api.base) == (CREDENTIALS, tokens, BASE)
