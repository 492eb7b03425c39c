#!/usr/bin/env python3
"""Screenshot the web app's pages at desktop (1280 px) and phone (390 px) width, signed in as a demo user.

Why: a table cut off on a phone or a marking that scrolls away is seen, not tested. Start
the demo (``visit-monitor web --demo``), then:

    python tools/web_screenshots.py --user "LEAD-1, force lead" /force /teams/TEAM-01 /ops --out-dir /tmp/shots
    python tools/web_screenshots.py --user "DS-01, supervisor, TEAM-01" /teams/TEAM-01 /officers/OM-0001

``--user`` is the start of a button label on the demo sign-in page. Needs Playwright and
Debian's Chromium (``/usr/bin/chromium``); nothing is downloaded. PNGs are for looking at,
not for committing: write them outside the repository.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

WIDTHS: dict[str, tuple[int, int]] = {"desktop": (1280, 900), "phone": (390, 844)}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("paths", nargs="+", help="pages to shoot, e.g. /force /teams/TEAM-01")
    parser.add_argument("--base", default="http://127.0.0.1:8080", help="where the demo runs")
    parser.add_argument("--user", required=True, help="demo user: the start of their sign-in button label")
    parser.add_argument("--out-dir", type=Path, required=True, help="where to write PNGs (outside the repository)")
    parser.add_argument("--browser", default="/usr/bin/chromium")
    parser.add_argument("--full-page", action="store_true", help="whole page, not just the first screen")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright  # only this tool needs it

    args.out_dir.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.browser, args=CHROMIUM_ARGS)
        for label, (width, height) in WIDTHS.items():
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.goto(f"{args.base}/sign-in")
            page.get_by_role("button", name=re.compile("^" + re.escape(args.user))).click()
            for path in args.paths:
                response = page.goto(f"{args.base}{path}")
                stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.strip("/")) or "home"
                png = args.out_dir / f"{stem}-{label}.png"
                page.screenshot(path=str(png), full_page=args.full_page)
                print(f"{png} ({response.status if response else '?'})")
            context.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
