"""The platforms fenxiao can take webhooks from.

Adding a platform is one new adapter module plus one line in ``PLATFORMS``.
"""

from __future__ import annotations

from .base import PlatformAdapter
from .errors import UnknownPlatform
from .shopify import ShopifyAdapter

PLATFORMS: dict[str, PlatformAdapter] = {
    "shopify": ShopifyAdapter(),
}


def get_adapter(name: str) -> PlatformAdapter:
    """Return the adapter registered as ``name``.

    Raises:
        UnknownPlatform: no adapter has that name (also a ``KeyError``).
    """
    try:
        return PLATFORMS[name]
    except (KeyError, TypeError):
        raise UnknownPlatform(f"unknown platform: {name!r}", "platform")
