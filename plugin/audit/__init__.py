"""The audit trail: who did what to which subject, append-only."""
