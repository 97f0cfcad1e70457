"""The dashboard's figures: precomputed per shop-local day, refreshed by a sweep, read per month."""
