#!/usr/bin/env python3
"""Re-make every screenshot in the docs (docs/images/) from the demo, in one command.

Why: the guides show readers what they will see; when a page or a digest changes, these
must change with it. This runs ``visit-monitor demo`` and ``visit-monitor web --demo``
(the synthetic register: nothing real) in a temporary folder, renders four digests and
the web app's pages in Debian's Chromium at desktop (1280 px) and phone (390 px) width,
and writes small PNGs (reduced to a palette of 96 colours) under docs/images/:

    .venv/bin/python tools/docs_screenshots.py            # all of them
    .venv/bin/python tools/docs_screenshots.py --only team

Needs the test and docs extras (Playwright, Pillow) and /usr/bin/chromium; nothing is
downloaded. Run it from the repository root after changing a template, then commit the
PNGs that changed.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# The browser settings and widths of tools/web_screenshots.py (one place; run from tools/).
from web_screenshots import CHROMIUM_ARGS, WIDTHS

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "images"
COLOURS = 96


@dataclass(frozen=True)
class Shot:
    name: str
    #: A web page path (signed in as ``user``) or a digest preview file's glob under var/preview.
    target: str
    user: str = ""
    #: Capture down to this many CSS pixels (None: the first screen only).
    height: int | None = None
    #: Capture only this element of the page (a CSS selector), e.g. one section.
    element: str = ""


SHOTS: tuple[Shot, ...] = (
    Shot("digest-officer", "officer-OM-0001-*.html", height=1500),
    Shot("digest-team", "team-DS-01-*.html", height=1500),
    Shot("digest-escalation", "escalation-DS-01-*.html", height=900),
    Shot("digest-force", "force-LEAD-1-*.html", height=1500),
    Shot("web-sign-in", "/sign-in"),
    Shot("web-officer", "/officers/OM-0001", "OM-0001,", height=1400),
    Shot("web-team", "/teams/TEAM-01", "DS-01,", height=1800),
    Shot("web-team-plan", "/teams/TEAM-01", "DS-01,", element="section[aria-labelledby=plan-h]"),
    Shot("web-team-forecast", "/teams/TEAM-01", "DS-01,", element="section[aria-labelledby=forecast-h]"),
    Shot("web-team-failed", "/teams/TEAM-01?status=failed", "DS-01,", height=1400),
    Shot("web-force", "/force", "LEAD-1,", height=1600),
    Shot("web-force-forecast", "/force", "LEAD-1,", element="section[aria-labelledby=forecast-h]"),
    Shot("web-ops", "/ops", "LEAD-1,", height=1400),
    Shot("web-access-log", "/access-log", "LEAD-1,"),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _console() -> str:
    return str(Path(sys.executable).with_name("visit-monitor"))


def _small_png(raw: bytes) -> bytes:
    from PIL import Image  # only this tool needs Pillow

    image = Image.open(io.BytesIO(raw)).convert("RGB")
    reduced = image.quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    reduced.save(out, format="PNG", optimize=True)
    return out.getvalue()


#: A digest's message column (the second table: the first is the full-width background).
MESSAGE = "body > table table"


def _capture(page: object, height: int | None, width: int, *, message: bool = False) -> bytes:
    if height is None:
        return page.screenshot()  # type: ignore[attr-defined,no-any-return]
    total = page.evaluate("document.documentElement.scrollHeight")  # type: ignore[attr-defined]
    x, shown = 0.0, float(width)
    if message:  # a mail client shows the 640 px message, not the grey around it
        box = page.locator(MESSAGE).first.bounding_box()  # type: ignore[attr-defined]
        if box:
            x, shown = max(0.0, box["x"] - 12), min(float(width), box["width"] + 24)
    clip = {"x": x, "y": 0, "width": shown, "height": min(int(total), height)}
    return page.screenshot(full_page=True, clip=clip)  # type: ignore[attr-defined,no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", help="only shots whose name contains this")
    parser.add_argument("--browser", default="/usr/bin/chromium")
    parser.add_argument("--out-dir", type=Path, default=OUT)
    args = parser.parse_args(argv)
    shots = [s for s in SHOTS if not args.only or args.only in s.name]

    from playwright.sync_api import sync_playwright

    args.out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vm-shots-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        # The web app's header and footer link to the guide it serves (a stand-in site here).
        (work / "site").mkdir()
        (work / "site" / "index.html").write_text("<!doctype html><title>guide</title>")
        (work / "monitor.toml").write_text(f'[docs]\nsite_dir = "{work / "site"}"\n')
        env["MONITOR_CONFIG"] = str(work / "monitor.toml")
        subprocess.run(
            [_console(), "demo", "--var", str(work / "var")], cwd=work, env=env, check=True, stdout=subprocess.DEVNULL
        )
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [_console(), "web", "--demo", "--port", str(port), "--var", str(work / "webvar")],
            cwd=work,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"{base}/sign-in", timeout=1)  # noqa: S310 - loopback
                    break
                except OSError:
                    time.sleep(0.2)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=args.browser, args=CHROMIUM_ARGS)
                for label, (width, height) in WIDTHS.items():
                    for shot in shots:
                        context = browser.new_context(viewport={"width": width, "height": height})
                        page = context.new_page()
                        if shot.target.startswith("/"):
                            if shot.user:
                                page.goto(f"{base}/sign-in")
                                name = re.compile("^" + re.escape(shot.user))
                                page.get_by_role("button", name=name).first.click()
                            page.goto(f"{base}{shot.target}")
                        else:
                            (found,) = sorted((work / "var" / "preview").glob(shot.target))[:1]
                            page.goto(found.as_uri())
                        png = args.out_dir / f"{shot.name}-{label}.png"
                        is_digest = not shot.target.startswith("/")
                        if shot.element:
                            raw = page.locator(shot.element).first.screenshot()
                        else:
                            raw = _capture(page, shot.height, width, message=is_digest)
                        png.write_bytes(_small_png(raw))
                        shown = png.relative_to(REPO) if png.is_relative_to(REPO) else png
                        print(f"{shown} ({png.stat().st_size // 1024} KB)")
                        context.close()
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
