"""fenxiao's core: the distribution domain (shops, members, bindings, orders, commissions,
ledger, settlement, audit, jobs) and the assembly that wires it into a service
(``create_app``, the JSON API, the ``fenxiao`` CLI)."""
