"""Commission Rules: versions, a version's rules in words, drafts (edit, validate, simulate,
publish), roll back, diff. One blueprint (``admin_rules``); the views live in ``versions`` and
``drafts``, the wording of rules in ``wording``."""

from __future__ import annotations

from admin.views.rules import drafts, versions
from admin.views.rules.blueprint import area, bp

__all__ = ["area", "bp", "drafts", "versions"]
