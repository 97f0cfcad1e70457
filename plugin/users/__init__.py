"""Workbench users: who may log in to the admin, for which shop, with which role."""
