#!/usr/bin/env python3
"""Screenshot HTML files (digest previews, reports) in headless Chromium, desktop and phone.

Why: HTML mail breaks in ways no unit test sees (a table cut off on a phone, a marking
banner that scrolls away). This renders each file at a desktop width (1280 px) and a
phone width (390 px) so a person can look at the result before it goes to officers.

    python tools/screenshot.py out/*.html --out-dir shots/

Needs Chromium (Debian: ``apt-get install chromium``). Each run uses a fresh profile
directory and turns off background networking, sync and component updates; the HTML
has no remote resources anyway, so nothing leaves the machine. PNGs are for looking at,
not for committing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WIDTHS: dict[str, int] = {"desktop": 1280, "phone": 390}
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_browser(explicit: str | None) -> str:
    if explicit:
        return explicit
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("no Chromium found: install it (Debian: apt-get install -y chromium) or pass --browser")


def screenshot(browser: str, html: Path, png: Path, width: int, height: int, timeout: float = 60.0) -> None:
    """Render ``html`` at ``width`` x ``height`` into ``png`` with a throwaway profile."""
    with tempfile.TemporaryDirectory(prefix="vm-shot-") as profile:
        cmd = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            f"--window-size={width},{height}",
            html.resolve().as_uri(),
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0 or not png.is_file():
            raise RuntimeError(f"chromium failed for {html} at {width}px: {result.stderr.strip()[-500:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="HTML files to render")
    parser.add_argument("--out-dir", type=Path, default=Path("screenshots"))
    parser.add_argument("--height", type=int, default=2400, help="viewport height (tall, for full pages)")
    parser.add_argument("--browser", help="path to chromium (default: first found on PATH)")
    parser.add_argument("--widths", default="desktop,phone", help="comma list of: " + ", ".join(WIDTHS))
    args = parser.parse_args(argv)

    browser = find_browser(args.browser)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    failures = 0
    for html in args.files:
        for label in args.widths.split(","):
            width = WIDTHS[label.strip()]
            png = args.out_dir / f"{html.stem}-{label.strip()}.png"
            try:
                screenshot(browser, html, png, width, args.height)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                print(f"FAILED {html} {label}: {exc}", file=sys.stderr)
                failures += 1
                continue
            print(png)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
