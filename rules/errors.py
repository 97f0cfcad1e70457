"""The error a rule document raises when it is not a valid commission ruleset."""

from __future__ import annotations


class RuleSetError(ValueError):
    """A ruleset document is invalid. ``code`` is stable and machine-readable.

    The message names the offending rule id (when there is one) and the field path
    inside the document, e.g.
    ``rule 'tier1-default': rules[0].actions[0].params.percent: percent must be between 0 and 100``.

    Attributes:
        code: Always ``"invalid_ruleset"``.
        message: The full human-readable message (also ``str(error)``).
        rule_id: The ``id`` of the offending rule, or None (document-level problem or missing id).
        field: The field path inside the document, e.g. ``rules[2].actions[0].params.percent``.
        guard: Which compliance guard the document breaks, or None for a plain format
            error: ``"tier_depth"`` (pays a tier beyond the shop's depth or beyond 3),
            ``"recruiting"`` (a condition on member/invitee/team counts instead of sales),
            ``"rate_range"`` (a percent outside 0..100 or not a plain decimal),
            ``"minor_units"`` (an amount that is not whole non-negative minor units),
            ``"no_floats"`` (a binary float anywhere in the document),
            ``"commission_ceiling"`` (the tiers' rates can add up to more than the shop's
            ceiling on one line) or ``"linear_regex"`` (a regular expression that cannot run
            in linear time).
    """

    code = "invalid_ruleset"

    def __init__(
        self, message: str, rule_id: str | None = None, field: str | None = None, guard: str | None = None
    ):
        super().__init__(message)
        self.message = message
        self.rule_id = rule_id
        self.field = field
        self.guard = guard

    @classmethod
    def at(
        cls, problem: str, field: str | None = None, rule_id: str | None = None, guard: str | None = None
    ) -> RuleSetError:
        """Build an error whose message is prefixed with the rule id and field path.

        Args:
            problem: What is wrong, e.g. ``"percent must be between 0 and 100"``.
            field: The field path inside the document.
            rule_id: The offending rule's id, if known.
            guard: The compliance guard broken, if any (see the class attributes).
        """
        prefix = ""
        if rule_id is not None:
            prefix += f"rule {rule_id!r}: "
        if field:
            prefix += f"{field}: "
        return cls(prefix + problem, rule_id=rule_id, field=field, guard=guard)

    def to_dict(self) -> dict:
        """The error as a JSON-ready body: code, message and, when known, rule_id, field and guard."""
        body = {"code": self.code, "message": self.message}
        if self.rule_id is not None:
            body["rule_id"] = self.rule_id
        if self.field:
            body["field"] = self.field
        if self.guard:
            body["guard"] = self.guard
        return body
