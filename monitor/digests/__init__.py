"""The four digest kinds: a context per kind built from one scan, rendered and queued in the
outbox. May use mail, reports, rules, register and core.
"""
