import pytest

from adapters.base import PlatformAdapter
from adapters.errors import AdapterError, UnknownPlatform
from adapters.registry import PLATFORMS, get_adapter
from adapters.shopify import ShopifyAdapter


def test_shopify_is_registered():
    adapter = get_adapter("shopify")
    assert isinstance(adapter, ShopifyAdapter)
    assert adapter is PLATFORMS["shopify"]
    assert adapter.identifier == "shopify"
    assert adapter.normalize_at_intake is True


def test_registered_adapters_match_their_key_and_the_protocol():
    for name, adapter in PLATFORMS.items():
        assert adapter.identifier == name
        for member in ("verify", "describe", "normalize", "acknowledgement"):
            assert callable(getattr(adapter, member))
        assert isinstance(adapter.normalize_at_intake, bool)
    assert PlatformAdapter.__name__ == "PlatformAdapter"


@pytest.mark.parametrize("name", ["youzan", "Shopify", "", None])
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
