"""The four digest kinds: a context per kind built from one scan, rendered and queued in the
outbox. May use mail, reports, rules, register and core.

The flow, one module per step, each testable and reusable on its own: ``contexts`` (what each
kind says) < ``history`` (last week and the trend, from snapshots) < ``builder`` (one scan cut
into one context per message) < ``build`` (the run: one scan, one plan and forecast, the
backtest beside it in ``backtest_run``) < ``render`` (context to subject, text and HTML) < ``queue``
(into the outbox, idempotent per kind, recipient and period) | ``preview`` (files; sends
nothing). Delivery is ``monitor.mail``'s job, never a digest's.
"""
