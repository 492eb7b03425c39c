"""docs/reference/metrics.md: every metric the daemon's endpoint exports (monitor.daemon.metrics)."""

from __future__ import annotations

from tools.reference.common import code, finish, head, table


def metrics() -> list[tuple[str, str, str, list[str]]]:
    """(name as scraped, type, help, labels) of each family the endpoint exports."""
    from monitor.daemon.metrics import families

    out = []
    for family in families():
        name = f"{family.name}_total" if family.type == "counter" else family.name
        out.append((name, family.type, family.documentation, list(getattr(family, "_labelnames", ()))))
    return out


def page() -> str:
    lines = head(
        "Metrics",
        "For operators wiring visit-monitor into Prometheus: every metric, its type and labels.",
        'With `[metrics] listen = "127.0.0.1:9465"` (loopback only) the daemon (`visit-monitor run`) '
        "serves these at `http://127.0.0.1:9465/metrics` (any other path answers 404), in the classic "
        "text format or OpenMetrics when the scraper asks for it. The figures are read from the database "
        "at each scrape, so every replica reports the same. Counts and codes only: never a case reference "
        "or a name.",
    )
    lines += table(
        ("Metric", "Type", "Labels", "Meaning"),
        [(code(n), t, ", ".join(code(x) for x in labels) or "-", doc) for n, t, doc, labels in metrics()],
    )
    return finish(lines)
