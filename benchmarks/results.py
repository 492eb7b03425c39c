"""What one run of the national benchmark found, and how it is shown.

Why apart from ``national.py``: the figures outlive the run (``--json``, ``--tables-from``)
and are read by people optimising one step, so their shape and their tables live in one
place, separate from how they are taken.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from measure import Measure


@dataclass
class Step:
    name: str
    product: Measure | None
    yardstick_name: str = ""
    yardstick: Measure | None = None

    @property
    def ratio(self) -> float | None:
        if self.product is None or self.yardstick is None or not self.yardstick.seconds:
            return None
        return self.product.seconds / self.yardstick.seconds

    @property
    def cpu_ratio(self) -> float | None:
        p, y = self.product, self.yardstick
        if p is None or y is None or not p.cpu_seconds or not y.cpu_seconds:
            return None
        return p.cpu_seconds / y.cpu_seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.name,
            "product": self.product and self.product.to_json(),
            "yardstick_name": self.yardstick_name,
            "yardstick": self.yardstick and self.yardstick.to_json(),
            "ratio": self.ratio and round(self.ratio, 3),
            "cpu_ratio": self.cpu_ratio and round(self.cpu_ratio, 3),
        }


@dataclass
class Run:
    """One engine at one size."""

    engine: str
    people: int
    steps: list[Step] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    #: The report's five lists, entry by entry (for the cross-engine check).
    lists: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append((name, ok, detail))
        if not ok:
            print(f"  CHECK FAILED: {name}: {detail}", file=sys.stderr, flush=True)


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:.1f}x"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _mb(measure: Measure | None) -> str:
    return "-" if measure is None or measure.peak_mb is None else f"{measure.peak_mb:.0f}"


def print_tables(
    runs: list[Run], generated: dict[int, dict[str, Any]], help_step: Step | None, cross: list[tuple[str, bool, str]]
) -> None:
    print()
    for people, facts in generated.items():
        print(
            f"extract {people:,} people: {facts['visits']:,} visit rows, {facts['officers']:,} officers in "
            f"{facts['teams']} teams, {facts['bad_rows']} bad rows, {facts['megabytes']} MB; "
            f"generated in {facts['generate_seconds']:.1f} s{' (reused)' if facts['reused'] else ''}"
        )
    header = (
        f"| {'step':<42} | {'visit-monitor s':>15} | {'yardstick':<24} | {'yardstick s':>11} | {'ratio':>6} "
        f"| {'CPU s (vm / yardstick)':>22} | {'CPU ratio':>9} | {'peak MB (vm / yardstick)':>24} |"
    )
    rule = "|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|"
    for run in runs:
        load = ", ".join(f"{x:.1f}" for x in run.info.get("load_before", ()))
        digests = run.info.get("digests", 0)
        print(f"\n{run.engine}, {run.people:,} people (load average before: {load}; {digests} digests previewed)")
        print(header)
        print(rule)
        for step in [*run.steps, *([help_step] if help_step else [])]:
            peaks = f"{_mb(step.product)} / {_mb(step.yardstick)}"
            cpu_p, cpu_y = (m and m.cpu_seconds for m in (step.product, step.yardstick))
            cpu = f"{fmt(cpu_p)} / {fmt(cpu_y)}"
            print(
                f"| {step.name:<42} | {fmt(step.product and step.product.seconds):>15} | {step.yardstick_name:<24} | "
                f"{fmt(step.yardstick and step.yardstick.seconds):>11} | {fmt(step.ratio, 'x'):>6} | {cpu:>22} | "
                f"{fmt(step.cpu_ratio, 'x'):>9} | {peaks:>24} |"
            )
    _print_summary(runs, help_step)
    grown = growth(runs)
    if grown:
        print("\ngrowth: cost per person at the largest size / at the smallest (1.0 = linear), wall (CPU)")
        for engine, steps in grown.items():
            for name, g in steps.items():
                vm = f"{fmt(g['product'])} ({fmt(g.get('product_cpu'))})"
                yard = f"{fmt(g['yardstick'])} ({fmt(g.get('yardstick_cpu'))})"
                print(f"  {engine:<10} {name:<52} visit-monitor {vm:<15} yardstick {yard}")
    print("\nchecks (every good row stored, exactly the bad lines rejected, report == lean query == truth):")
    for run in runs:
        failed = [(n, d) for n, ok, d in run.checks if not ok]
        print(f"  {run.engine} {run.people:,}: {len(run.checks) - len(failed)}/{len(run.checks)} passed")
        for name, detail in failed:
            print(f"    FAIL {name}: {detail}")
    for name, ok, detail in cross:
        print(f"  {'ok' if ok else 'FAIL'}: {name}{'' if ok else ': ' + detail}")


def _print_summary(runs: list[Run], help_step: Step | None) -> None:
    """All sizes side by side: "visit-monitor s / yardstick s = ratio, peak MB" per cell."""
    sizes = sorted({r.people for r in runs})
    print("\nsummary: visit-monitor s / yardstick s = ratio (ratio of their own CPU seconds); visit-monitor peak MB")
    print("| engine | step | " + " | ".join(f"{n:,} people" for n in sizes) + " |")
    print("|---|---|" + "---|" * len(sizes))
    for engine in dict.fromkeys(r.engine for r in runs):
        by_size = {r.people: r for r in runs if r.engine == engine}
        names = [s.name.split(" (")[0] for s in by_size[sizes[-1]].steps] if sizes[-1] in by_size else []
        for name in names:
            cells = []
            for n in sizes:
                step = (
                    next((s for s in by_size[n].steps if s.name.split(" (")[0] == name), None) if n in by_size else None
                )
                if step is None or step.product is None:
                    cells.append("")
                    continue
                cell = fmt(step.product.seconds)
                if step.yardstick is not None:
                    cell += f" / {fmt(step.yardstick.seconds)} = {fmt(step.ratio, 'x')}"
                    if step.cpu_ratio is not None:
                        cell += f" (CPU {fmt(step.cpu_ratio, 'x')})"
                if step.product.peak_mb is not None:
                    cell += f"; {step.product.peak_mb:.0f} MB"
                cells.append(cell)
            print(f"| {engine} | {name} | " + " | ".join(cells) + " |")
    p, y = (help_step.product, help_step.yardstick) if help_step else (None, None)
    if help_step and p and y:
        cell = f"{fmt(p.seconds)} / {fmt(y.seconds)} = {fmt(help_step.ratio, 'x')}"
        if help_step.cpu_ratio is not None:
            cell += f" (CPU {fmt(help_step.cpu_ratio, 'x')})"
        if p.peak_mb is not None:
            cell += f"; {p.peak_mb:.0f} MB"
        print(f"| any | --help, against python -c pass (once per run) | {cell} |" + " |" * (len(sizes) - 1))


def growth(runs: list[Run]) -> dict[str, dict[str, dict[str, float | None]]]:
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for engine in dict.fromkeys(r.engine for r in runs):
        mine = sorted((r for r in runs if r.engine == engine), key=lambda r: r.people)
        if len(mine) < 2:
            continue
        small, large = mine[0], mine[-1]
        scale = small.people / large.people
        for step in large.steps:
            name = step.name.split(" (")[0]
            before = next((s for s in small.steps if s.name.split(" (")[0] == name), None)
            if before is None or step.product is None or before.product is None:
                continue

            def per_person(a: float | None, b: float | None, scale: float = scale) -> float | None:
                return round(a / b * scale, 2) if a and b else None

            def cpu(m: Measure | None) -> float | None:
                return m.cpu_seconds if m else None

            key = f"{name} ({small.people:,} -> {large.people:,})"
            out.setdefault(engine, {})[key] = {
                "product": per_person(step.product.seconds, before.product.seconds),
                "yardstick": per_person(
                    step.yardstick and step.yardstick.seconds, before.yardstick and before.yardstick.seconds
                ),
                "product_cpu": per_person(cpu(step.product), cpu(before.product)),
                "yardstick_cpu": per_person(cpu(step.yardstick), cpu(before.yardstick)),
            }
    return out


def _measure(raw: dict[str, Any] | None) -> Measure | None:
    return Measure(raw["seconds"], raw["peak_mb"], raw["runs"], raw.get("cpu_seconds")) if raw else None


def _step(raw: dict[str, Any]) -> Step:
    return Step(raw["step"], _measure(raw["product"]), raw["yardstick_name"], _measure(raw["yardstick"]))


def reprint(saved: dict[str, Any]) -> int:
    """The tables of a saved run (``--json``), without running anything."""
    runs = []
    for raw in saved["runs"]:
        run = Run(raw["engine"], raw["people"], [_step(s) for s in raw["steps"]], info=raw["info"])
        run.checks = [(c["check"], c["ok"], c["detail"]) for c in raw["checks"]]
        runs.append(run)
    cross = [(c["check"], c["ok"], c["detail"]) for c in saved.get("cross_engine_checks", [])]
    generated = {int(k): v for k, v in saved.get("extracts", {}).items()}
    print(f"command: {saved['command']}")
    print_machine(saved["machine"])
    print_tables(runs, generated, _step(saved["help"]) if "help" in saved else None, cross)
    return 0 if saved.get("ok") else 1


def run_json(run: Run) -> dict[str, Any]:
    return {
        "engine": run.engine,
        "people": run.people,
        "steps": [s.to_json() for s in run.steps],
        "checks": [{"check": n, "ok": o, "detail": d} for n, o, d in run.checks],
        "info": run.info,
    }


def print_machine(m: dict[str, Any]) -> None:
    load = " ".join(f"{x:.1f}" for x in m["load_before"])
    now = " ".join(f"{x:.1f}" for x in m.get("load_after", ()))
    print(
        f"machine: {m['cpus']} CPUs, load average {load} at the start and {now or '?'} at the end; "
        f"Python {m['python']}, SQLite {m['sqlite']}, PostgreSQL {m['postgresql'].split()[0]}"
    )
