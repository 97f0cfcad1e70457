"""Adapters: the common order schema, one module per shop platform, outbound clients.

Nothing here imports the rest of the project: the domain (``plugin``) depends on this
package, never the other way round.
"""
