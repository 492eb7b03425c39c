"""The week's plan and the backlog forecast: advice on clearing what the scan finds overdue.

``facts`` (the engine's typed inputs), put together by ``inputs`` (and, for the backtest, by
``history``) from a ``source`` (SQLAlchemy: ``source_engine``; the force on a SQLite file:
``source_sqlite``); the pure engine: ``capacity``, ``plan`` and ``reallocate`` (returning
``plan_results``), the forecast's ``model`` and ``forecast`` (returning ``forecast_results``),
the ``backtest``; ``weeks`` and ``words`` shared.
May use monitor.rules, monitor.register and monitor.core; reports, digests and web show it.
"""
