"""Platform connections: each shop's app on its platform, install state and API tokens."""
