"""Shops (tenants): their settings, webhook secrets, API keys, rule-set versions and category trees."""
