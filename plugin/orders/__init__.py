"""Orders and refunds as the platforms report them, and the order state machine."""
