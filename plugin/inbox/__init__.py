"""The webhook inbox: every received event stored once, processed, retried or dead."""
