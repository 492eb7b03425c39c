"""``/help``: the guide, served by the app itself from a built copy (``[docs] site_dir``).

Why: a force network often cannot reach the internet, and people look for help where
they already are. The guide holds no register data, so its pages are public (readable
before sign-in, which is when "how do I sign in?" is asked) and are not written to the
access log. Only files under ``site_dir`` are served (``safe_join``: no ``..``, no
absolute paths); a folder answers with its ``index.html``. The app's own headers apply
here too: its Content-Security-Policy allows no script, so the guide's search box does
not work under /help (its pages, navigation and images do); the same site published on
an intranet server has its search.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, redirect, send_from_directory
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

from monitor.core.docs_settings import HELP_PATH
from monitor.web.access import rule
from monitor.web.state import state

bp = Blueprint("help", __name__)


@bp.get(HELP_PATH)
@rule("public")
def help_root() -> Response:
    return redirect(f"{HELP_PATH}/", code=301)


@bp.get(f"{HELP_PATH}/", defaults={"page": ""})
@bp.get(f"{HELP_PATH}/<path:page>")
@rule("public")
def help_page(page: str) -> Response:
    site = state().config.docs.site_dir
    if site is None:
        abort(404)
    found = safe_join(str(site), page) if page else str(site)
    if found is None:
        abort(404)
    target = Path(found)
    if target.is_dir():
        if page and not page.endswith("/"):
            return redirect(f"{HELP_PATH}/{page}/", code=301)
        page = f"{page}index.html"
    return send_from_directory(site, page, max_age=0)
