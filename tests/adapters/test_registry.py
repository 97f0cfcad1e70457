import ast
import inspect
import sys
from pathlib import Path

import pytest

import adapters
from adapters.base import PlatformAdapter
from adapters.errors import AdapterError, UnknownPlatform
from adapters.registry import PLATFORMS, get_adapter
from adapters.shopify import ShopifyAdapter


def test_every_platform_of_the_issue_is_registered_and_loaded_on_first_use():
    assert sorted(PLATFORMS) == ["generic", "shopify", "weimob", "youzan"]
    fetching = {name for name in PLATFORMS if not PLATFORMS[name].normalize_at_intake}
    assert fetching == {"weimob"}  # its messages carry no amounts: normalizing fetches them


def test_shopify_is_registered():
    adapter = get_adapter("shopify")
    assert isinstance(adapter, ShopifyAdapter)
    assert adapter is PLATFORMS["shopify"]
    assert adapter.identifier == "shopify"
    assert adapter.normalize_at_intake is True


def test_registered_adapters_match_their_key_and_the_protocol():
    methods = ("verify", "describe", "normalize", "acknowledgement", "api_client")
    for name, adapter in PLATFORMS.items():
        assert adapter.identifier == name
        assert isinstance(adapter.normalize_at_intake, bool)
        for method in methods:
            expected = list(inspect.signature(getattr(PlatformAdapter, method)).parameters)
            assert list(inspect.signature(getattr(type(adapter), method)).parameters) == expected


def test_adapters_import_only_stdlib_marshmallow_requests_and_the_payment_sdks():
    """Nothing of the project; the payout gateways (only they) use their vendors' SDKs."""
    root = Path(adapters.__file__).parent
    for path in root.rglob("*.py"):
        allowed = set(sys.stdlib_module_names) | {"marshmallow", "requests"}
        if path.parent == root / "payouts":
            allowed |= {"cryptography", "wechatpayv3", "alipay", "Cryptodome"}
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            assert {n.split(".")[0] for n in names} <= allowed, (path.name, names)


@pytest.mark.parametrize("name", ["taobao", "Shopify", "", None])
def test_unknown_platform(name):
    with pytest.raises(UnknownPlatform) as info:
        get_adapter(name)
    error = info.value
    assert isinstance(error, KeyError)
    assert isinstance(error, AdapterError)
    assert error.code == "unknown_platform"
    assert error.to_dict() == {
        "code": "unknown_platform",
        "message": f"unknown platform: {name!r}",
        "field": "platform",
    }
    assert str(error) == f"unknown platform: {name!r}"
