"""Messages, recipient checks, the outbox and the transports that deliver it, with the
disclosure log. May use register and core; knows nothing of digests or reports.
"""
