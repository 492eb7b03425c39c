"""``visit-monitor web``: serve the web app with a production WSGI server (waitress).

Behind the force's TLS proxy: ``[web] base_url`` is the address people use (sign-in
returns to it, cookies are Secure when it is https), ``[web] issuer`` and
``client_id`` name the OpenID Connect provider, and the client secret comes from
``$MONITOR_OIDC_CLIENT_SECRET``. Without them it refuses to start (exit 2) rather than
serve an app nobody can sign in to. The provider's discovery document and keys are read
before serving: a failure is logged with the URL and the cause, and the server starts
anyway and keeps trying (``monitor.web.provider``).

``--demo`` serves the synthetic demo register (its own SQLite file under ``--var``)
with a local sign-in instead of a provider, and refuses any address but loopback.
"""

from __future__ import annotations

import dataclasses
import threading

import click

from monitor.cli.app import EXIT_FAILURE, EXIT_USAGE, fail, get_app, resolve_as_of
from monitor.core.files import private_mkdir
from monitor.core.web_settings import SECRET_ENV, is_loopback

#: The date the committed demo register was generated for (see ``visit-monitor demo``).
DEMO_AS_OF = "2026-11-23"


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option("--demo", is_flag=True, help="Serve the synthetic demo register with a local sign-in (loopback only).")
@click.option("--as-of", "as_of_text", metavar="DATE", help=f"With --demo: the date to show (default {DEMO_AS_OF}).")
@click.option(
    "--var",
    "var_dir",
    default="var",
    show_default=True,
    type=click.Path(file_okay=False),
    help="With --demo: the folder for the demo database (made 0700).",
)
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True, help="Worker threads.")
@click.pass_context
def command(
    ctx: click.Context, host: str, port: int, demo: bool, as_of_text: str | None, var_dir: str, threads: int
) -> None:
    """Serve the web app for supervisors and leads (signed in through the force's identity provider)."""
    # Lazy imports: Flask, Authlib and waitress load only when this command runs.
    import waitress

    from monitor.core.logs import setup_logging
    from monitor.core.redact import register_secret
    from monitor.web.app import create_app, warm_cache
    from monitor.web.provider import start_checks
    from monitor.web.store import StoreError

    app = get_app(ctx)
    config = app.config
    if demo:
        from monitor.web.demo import NotDemoDatabase, prepare_demo_database

        if not is_loopback(host):
            raise fail("--demo serves only on a loopback address (127.0.0.1, localhost or ::1)", EXIT_USAGE)
        var = private_mkdir(var_dir)  # 0700: the demo database is as private as a real one
        as_of = resolve_as_of(config, as_of_text or DEMO_AS_OF)
        shown_host = f"[{host}]" if ":" in host else host
        config = dataclasses.replace(
            config,
            database_url=f"sqlite:///{var / 'demo.db'}",
            web=dataclasses.replace(config.web, base_url=f"http://{shown_host}:{port}"),
        )
        try:
            engine = prepare_demo_database(config, as_of)
        except NotDemoDatabase as exc:
            raise fail(f"{var / 'demo.db'}: {exc}; --demo runs only on the demo database", EXIT_USAGE) from None
        flask_app = create_app(config, engine, as_of=as_of, demo_mode=True)
        click.echo(f"Demo on http://{shown_host}:{port}/ (synthetic register as of {as_of.isoformat()}, local sign-in)")
    else:
        if as_of_text:
            raise fail("--as-of is only for --demo: the app always shows today", EXIT_USAGE)
        web = config.web
        if not web.issuer or not web.client_id:
            raise fail("configuration error: web.issuer and web.client_id must be set (see [web])", EXIT_USAGE)
        if not web.base_url and not is_loopback(host):
            raise fail("configuration error: web.base_url must be set to serve beyond loopback", EXIT_USAGE)
        if not web.client_secret:
            click.echo(f"Warning: ${SECRET_ENV} is not set: most identity providers will refuse sign-in.", err=True)
        register_secret(web.client_secret)
        setup_logging(config.log_format, config.log_level)
        engine = app.engine()
        try:
            flask_app = create_app(config, engine)
        except StoreError as exc:
            raise fail(str(exc), EXIT_FAILURE) from None
        start_checks(flask_app)  # logs where and why when the provider cannot be used yet
        click.echo(f"Serving on {host}:{port} for {web.base_url or 'loopback'} (identity provider {web.issuer})")
    site = config.docs.site_dir
    if site is not None and not (site / "index.html").is_file():
        click.echo(f"Warning: docs.site_dir {site} holds no built guide (index.html): /help answers 404.", err=True)
    # The force page's scan is cached per register version: keep it warm across imports.
    warmer = threading.Thread(target=warm_cache, args=(flask_app,), kwargs={"forever": True}, daemon=True)
    warmer.start()
    waitress.serve(flask_app, host=host, port=port, threads=threads, ident="visit-monitor", _quiet=True)
