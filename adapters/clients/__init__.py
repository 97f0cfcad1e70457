"""Outbound clients of the shop platforms' APIs (install, tokens, webhook registration, fetches).

Each client takes ``AppCredentials`` and a ``TokenStore`` and calls through ``adapters.http``.
"""
