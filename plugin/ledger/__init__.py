"""The append-only double-entry ledger: accounts, balanced transactions, derived balances."""
