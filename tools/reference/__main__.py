"""``python -m tools.reference --write | --check``: the generated reference pages."""

from __future__ import annotations

import argparse
import sys

from tools.reference import DOCS, generate, missing_words, stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.reference", description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="write docs/reference/*.md from the code")
    mode.add_argument("--check", action="store_true", help="exit 1 when a committed page differs from the code")
    args = parser.parse_args(argv)
    gaps = missing_words()
    for gap in gaps:
        print(f"no words for: {gap} (add them in tools/reference/)", file=sys.stderr)
    if args.write:
        for path, text in generate().items():
            target = DOCS / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(f"wrote docs/{path}")
        return 1 if gaps else 0
    old = stale()
    for path in old:
        print(f"docs/{path} differs from the code: run python -m tools.reference --write", file=sys.stderr)
    return 1 if old or gaps else 0


if __name__ == "__main__":
    sys.exit(main())
