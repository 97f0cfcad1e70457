"""The platforms fenxiao can take webhooks from.

Adding a platform is one new adapter module plus one line in ``ADAPTERS``. Modules are
imported on first use, so a process only loads the platforms its shops are on.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping

from .base import PlatformAdapter
from .errors import UnknownPlatform

ADAPTERS = {
    "shopify": "adapters.shopify:ShopifyAdapter",
    "youzan": "adapters.youzan:YouzanAdapter",
    "weimob": "adapters.weimob:WeimobAdapter",
    "generic": "adapters.generic:GenericAdapter",
}


class _Registry(MutableMapping):
    """Platform name -> adapter instance, each built once on first access."""

    def __init__(self, paths: dict[str, str]):
        self._paths = dict(paths)
        self._loaded: dict[str, PlatformAdapter] = {}

    def __getitem__(self, name: str) -> PlatformAdapter:
        if name not in self._loaded:
            module, cls = self._paths[name].split(":")
            self._loaded[name] = getattr(importlib.import_module(module), cls)()
        return self._loaded[name]

    def __setitem__(self, name: str, adapter: PlatformAdapter) -> None:
        self._paths[name] = ""
        self._loaded[name] = adapter

    def __delitem__(self, name: str) -> None:
        del self._paths[name]
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __contains__(self, name: object) -> bool:
        return name in self._paths


PLATFORMS: MutableMapping[str, PlatformAdapter] = _Registry(ADAPTERS)


def get_adapter(name: str) -> PlatformAdapter:
    """Return the adapter registered as ``name``.

    Raises:
        UnknownPlatform: no adapter has that name (also a ``KeyError``).
    """
    try:
        return PLATFORMS[name]
    except (KeyError, TypeError):
        raise UnknownPlatform(f"unknown platform: {name!r}", "platform")
