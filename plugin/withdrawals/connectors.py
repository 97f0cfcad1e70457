"""The real outside parties of a deployment: each shop's payout gateways and identity provider,
built from the shop's settings and its credentials (sealed JSON under the identity keyring).

Credentials are set with ``configure`` (``fenxiao withdrawals gateway``): the gateway is built
once to check them (a key that does not load is refused then, not at the first payout), then
they are sealed; the audit log records which fields changed, never their values. The bank
channel has no credentials: its payouts go out in batch files (``plugin.withdrawals.batches``).
"""

from __future__ import annotations

import functools
import importlib
import json

from sqlalchemy.orm import Session

from adapters.errors import AdapterError
from adapters.payouts import verification
from plugin.audit import trail
from plugin.config import Config
from plugin.errors import InvalidSetting
from plugin.shops.models import Shop
from plugin.withdrawals import flow, settings
from plugin.withdrawals.keyring import Keyring, keyring

# channel -> its gateway class, imported when first used: the payment SDKs would otherwise add
# ~0.3 s to the start of every ``fenxiao`` command and worker
GATEWAYS = {
    "wechat": "adapters.payouts.wechat:WechatTransferGateway",
    "alipay": "adapters.payouts.alipay:AlipayTransferGateway",
}
IDENTITY = "identity"  # the http identity provider's shared secret: {"secret": ...}


class NotConfigured(AdapterError):
    code = "gateway_not_configured"


def credentials(session: Session, shop: Shop, keys: Keyring) -> dict:
    sealed = settings.row_of(session, shop).gateways
    return json.loads(keys.open(sealed) or "{}") if sealed else {}


def configure(session: Session, shop: Shop, keys: Keyring, name: str, values: dict, actor: str) -> None:
    """Set the credentials of a gateway (``wechat``, ``alipay``) or of the identity provider.

    Raises:
        InvalidSetting: an unknown name, or credentials the gateway refuses.
    """
    if name not in (*GATEWAYS, IDENTITY):
        raise InvalidSetting(
            f"unknown gateway {name!r}; known: {', '.join((*GATEWAYS, IDENTITY))}", "gateway"
        )
    try:
        if name == IDENTITY:
            verification.HttpIdentityProvider("https://check.invalid/", **values)
        else:
            gateway_class(name)(**values)
    except (TypeError, ValueError, AdapterError) as refused:
        raise InvalidSetting(f"the {name} credentials are refused: {refused}", "gateway") from None
    stored = credentials(session, shop, keys)
    before = stored.get(name, {})
    stored[name] = values
    settings.row_of(session, shop, create=True).gateways = keys.seal(json.dumps(stored))
    changed = sorted(key for key in set(before) | set(values) if before.get(key) != values.get(key))
    trail.record(
        session,
        shop.id,
        "withdrawal.gateway_configured",
        "shop",
        shop.id,
        actor=actor,
        gateway=name,
        fields=changed,
    )


class Connectors:
    """``identity_provider(session, shop)`` and ``gateway(session, shop, channel)`` of one deployment."""

    def __init__(self, keys: Keyring):
        self.keys = keys

    def identity_provider(self, session: Session, shop: Shop) -> verification.IdentityProvider:
        policy = settings.policy_of(session, shop)
        if policy.identity_provider == "none":
            return verification.AcceptingProvider()
        secret = credentials(session, shop, self.keys).get(IDENTITY, {}).get("secret")
        if not secret:
            raise NotConfigured("the http identity provider has no shared secret yet")
        return verification.HttpIdentityProvider(policy.identity_provider_url, secret)

    def gateway(self, session: Session, shop: Shop, channel: str):
        if channel == "bank":
            return None
        values = credentials(session, shop, self.keys).get(channel)
        if not values:
            raise NotConfigured(f"the shop's {channel} gateway has no credentials yet")
        return _built(channel, json.dumps(values, sort_keys=True))

    def outside(self) -> flow.Outside:
        return flow.Outside(self.keys, self.identity_provider, self.gateway)


@functools.lru_cache(maxsize=512)
def _built(channel: str, values: str):
    """A gateway per set of credentials, kept: loading an RSA key checks its primes (~0.2 s for
    Alipay's SDK), far more than the payout itself. New credentials make a new one."""
    return gateway_class(channel)(**json.loads(values))


def gateway_class(channel: str):
    module, name = GATEWAYS[channel].split(":")
    return getattr(importlib.import_module(module), name)


def outside_for(config: Config) -> flow.Outside:
    return Connectors(keyring(config)).outside()
