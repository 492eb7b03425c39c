"""MkDocs hooks (``hooks:`` in mkdocs.yml; no plugin to install): the reference must match the code.

Before a build, the pages of ``docs/reference/`` are generated again from the code
(``tools.reference``) and compared with the committed ones; a difference, or a command,
key or column the generator has no words for, is logged as a warning, which
``mkdocs build --strict`` (CI, and tests/project/test_docs.py) turns into a failed build. Nothing
here fetches anything.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
log = logging.getLogger("mkdocs.hooks.reference")


def on_pre_build(config: Any) -> None:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tools.reference import missing_words, stale

    for path in stale(Path(config["docs_dir"])):
        log.warning("docs/%s differs from the code: run python -m tools.reference --write", path)
    for gap in missing_words():
        log.warning("the reference has no words for %s: add them in tools/reference/", gap)
