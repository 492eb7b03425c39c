"""Every ID-token check, on the wire: a provider that issues bad tokens, driven through the real sign-in.

The stand-in provider (``tests/oidc_idp.py``) signs each token for the force lead's
address, so a token the app wrongly accepted would show the whole force. Each case plans
one fault (a forged or misaddressed token, an expired one, one from the future, another
nonce, an unverified email...) and asserts what must follow: the answer is a plain error
page, no session is signed in (the next page sends the browser back to sign in), no case
data was shown, and the access log holds a ``refused`` row saying which check failed.
Positive controls (a good token, a trusted extra audience, clock skew within the leeway)
sign in, so the refusals are not an app that refuses everything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from oidc_idp import CLIENT_ID, CLIENT_SECRET, DROP, TENANT, Plan, StandInProvider, running
from sqlalchemy import Engine, select
from web_support import LEAD, assert_refused, build_register, email, idp_sign_in, local, make_app, store, web_config

from monitor.core.config import Config
from monitor.register.db import reading
from monitor.register.models import AccessLogEntry
from monitor.web.id_token import LEEWAY_SECONDS


@pytest.fixture(scope="module")
def idp() -> Iterator[StandInProvider]:
    with running() as provider:
        yield provider


@pytest.fixture(autouse=True)
def _fresh_provider(idp: StandInProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    idp.plan, idp.advertised_algs, idp.discovery_issuer = Plan(), ["RS256"], None
    monkeypatch.setenv("MONITOR_OIDC_CLIENT_SECRET", CLIENT_SECRET)


def app_for(engine: Engine, make_config: Callable[..., Config], db_url: str, idp: StandInProvider, **web: Any) -> Flask:
    build_register(engine)
    return make_app(web_config(make_config, db_url, issuer=idp.issuer, client_id=CLIENT_ID, **web), engine)


@pytest.fixture
def app(sqlite_engine: Engine, make_config: Callable[..., Config], sqlite_url: str, idp: StandInProvider) -> Flask:
    return app_for(sqlite_engine, make_config, sqlite_url, idp)


def lead(**claims: Any) -> dict[str, Any]:
    """Claims naming the force lead (their register address, verified), changed by ``claims``."""
    return {"email": email(LEAD), "email_verified": True, **claims}


def now() -> int:
    return int(time.time())


#: (id, plan, check named in the access log)
TOKEN_FAULTS: list[tuple[str, Callable[[], Plan], str]] = [
    ("forged-signature", lambda: Plan(lead(), signing="forged"), "signature"),
    ("tampered-claims", lambda: Plan(lead(), signing="tampered"), "signature"),
    ("unknown-key-id", lambda: Plan(lead(), signing="unknown_kid"), "key"),
    ("no-key-id", lambda: Plan(lead(), header={"kid": DROP}, signing="forged"), "signature"),
    ("alg-none", lambda: Plan(lead(), signing="none"), "algorithm"),
    ("hs256-with-the-public-key", lambda: Plan(lead(), signing="hs256_public"), "algorithm"),
    ("rs512-not-configured", lambda: Plan(lead(), header={"alg": "RS512"}), "algorithm"),
    ("crit-extension", lambda: Plan(lead(), header={"crit": ["exp"]}), "header"),
    ("expired", lambda: Plan(lead(exp=now() - LEEWAY_SECONDS - 60, iat=now() - 3600)), "expired"),
    ("no-exp", lambda: Plan(lead(exp=DROP)), "expired"),
    ("exp-not-a-number", lambda: Plan(lead(exp=True)), "expired"),
    ("nbf-in-the-future", lambda: Plan(lead(nbf=now() + LEEWAY_SECONDS + 300)), "not_before"),
    ("iat-in-the-future", lambda: Plan(lead(iat=now() + LEEWAY_SECONDS + 300)), "issued_at"),
    ("no-iat", lambda: Plan(lead(iat=DROP)), "issued_at"),
    ("wrong-issuer", lambda: Plan(lead(iss="https://login.elsewhere.example/v2.0")), "issuer"),
    ("aud-another-app-with-our-azp", lambda: Plan(lead(aud="another-app", azp=CLIENT_ID)), "audience"),
    ("aud-list-without-us", lambda: Plan(lead(aud=["another-app", "third-app"], azp=CLIENT_ID)), "audience"),
    ("aud-list-with-an-untrusted-app", lambda: Plan(lead(aud=[CLIENT_ID, "another-app"], azp=CLIENT_ID)), "audience"),
    ("aud-list-untrusted-no-azp", lambda: Plan(lead(aud=[CLIENT_ID, "another-app"])), "audience"),
    ("aud-empty-list", lambda: Plan(lead(aud=[])), "audience"),
    ("aud-missing", lambda: Plan(lead(aud=DROP)), "audience"),
    ("azp-another-app", lambda: Plan(lead(azp="another-app")), "azp"),
    ("wrong-nonce", lambda: Plan(lead(nonce="not-the-one-sent")), "nonce"),
    ("no-nonce", lambda: Plan(lead(nonce=DROP)), "nonce"),
    ("no-sub", lambda: Plan(lead(sub=DROP)), "subject"),
]


@pytest.mark.parametrize(
    ("plan", "reason"), [(p, r) for _i, p, r in TOKEN_FAULTS], ids=[i for i, _p, _r in TOKEN_FAULTS]
)
def test_a_bad_id_token_signs_nobody_in(
    app: Flask, idp: StandInProvider, plan: Callable[[], Plan], reason: str
) -> None:
    idp.advertised_algs = ["RS256", "RS512", "HS256", "none"]  # the provider's word is not taken
    client = app.test_client()
    assert_refused(app, client, idp_sign_in(client, idp, plan()), 400, reason)


#: (id, plan, extra [web] settings): an identity the token names but the app must not trust.
IDENTITY_FAULTS: list[tuple[str, Callable[[], Plan], dict[str, Any]]] = [
    ("email-verified-false", lambda: Plan(lead(email_verified=False)), {}),
    ("email-verified-string-false", lambda: Plan(lead(email_verified="false")), {}),
    ("email-verified-absent", lambda: Plan(lead(email_verified=DROP)), {}),
    ("xms-edov-false", lambda: Plan(lead(xms_edov=False)), {"email_verified_absent": "accept"}),
    ("absent-and-no-xms-edov", lambda: Plan(lead(email_verified=DROP)), {"email_verified_absent": "xms_edov"}),
    (
        "absent-and-xms-edov-false",
        lambda: Plan(lead(email_verified=DROP, xms_edov=False)),
        {"email_verified_absent": "xms_edov"},
    ),
    ("wrong-tenant", lambda: Plan(lead(tid="99999999-1111-4222-8333-444444444444")), {"tenant_id": TENANT}),
    ("no-tenant", lambda: Plan(lead()), {"tenant_id": TENANT}),
]


@pytest.mark.parametrize(
    ("plan", "web"), [(p, w) for _i, p, w in IDENTITY_FAULTS], ids=[i for i, _p, _w in IDENTITY_FAULTS]
)
def test_an_identity_the_provider_does_not_vouch_for_is_refused(
    sqlite_engine: Engine,
    make_config: Callable[..., Config],
    sqlite_url: str,
    idp: StandInProvider,
    plan: Callable[[], Plan],
    web: dict[str, Any],
) -> None:
    app = app_for(sqlite_engine, make_config, sqlite_url, idp, **web)
    client = app.test_client()
    answer = idp_sign_in(client, idp, plan())
    assert "You cannot use this service" in answer.get_data(as_text=True)
    assert_refused(app, client, answer, 403, None)
    with reading(store(app)) as db:
        row = db.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id.desc())).first()
    assert row is not None and row.subject == "stand-in-subject"  # a genuine token: its subject is logged


#: (id, plan, extra [web] settings): tokens that must sign the lead in.
GOOD: list[tuple[str, Callable[[], Plan], dict[str, Any]]] = [
    ("good", lambda: Plan(lead()), {}),
    ("aud-as-a-one-item-list", lambda: Plan(lead(aud=[CLIENT_ID])), {}),
    ("azp-is-us", lambda: Plan(lead(azp=CLIENT_ID)), {}),
    (
        "trusted-extra-audience-with-azp",
        lambda: Plan(lead(aud=[CLIENT_ID, "reporting-api"], azp=CLIENT_ID)),
        {"trusted_audiences": ["reporting-api"]},
    ),
    ("clock-skew-within-leeway", lambda: Plan(lead(iat=now() + 60, nbf=now() + 60, exp=now() - 60)), {}),
    ("email-verified-string-true", lambda: Plan(lead(email_verified="true")), {}),
    ("absent-accepted-when-configured", lambda: Plan(lead(email_verified=DROP)), {"email_verified_absent": "accept"}),
    (
        "absent-with-xms-edov-true",
        lambda: Plan(lead(email_verified=DROP, xms_edov=True)),
        {"email_verified_absent": "xms_edov"},
    ),
    ("right-tenant", lambda: Plan(lead(tid=TENANT.upper())), {"tenant_id": TENANT}),
]


@pytest.mark.parametrize(("plan", "web"), [(p, w) for _i, p, w in GOOD], ids=[i for i, _p, _w in GOOD])
def test_a_good_token_signs_the_officer_in(
    sqlite_engine: Engine,
    make_config: Callable[..., Config],
    sqlite_url: str,
    idp: StandInProvider,
    plan: Callable[[], Plan],
    web: dict[str, Any],
) -> None:
    app = app_for(sqlite_engine, make_config, sqlite_url, idp, **web)
    client = app.test_client()
    answer = idp_sign_in(client, idp, plan())
    assert answer.status_code == 303, answer.get_data(as_text=True)[:300]
    assert client.get("/force").status_code == 200


def test_a_trusted_extra_audience_still_needs_azp(
    sqlite_engine: Engine, make_config: Callable[..., Config], sqlite_url: str, idp: StandInProvider
) -> None:
    app = app_for(sqlite_engine, make_config, sqlite_url, idp, trusted_audiences=["reporting-api"])
    client = app.test_client()
    answer = idp_sign_in(client, idp, Plan(lead(aud=[CLIENT_ID, "reporting-api"])))
    assert_refused(app, client, answer, 400, "azp")


def test_a_replayed_code_and_a_foreign_state_sign_nobody_in(app: Flask, idp: StandInProvider) -> None:
    client = app.test_client()
    idp.plan = Plan(lead())
    start = client.get("/auth/login")
    back = local(requests.get(start.headers["Location"], allow_redirects=False, timeout=10).headers["Location"])
    stranger = app.test_client()  # the callback in another browser: no sign-in of its own to finish
    assert_refused(app, stranger, stranger.get(back), 400, "state")
    assert client.get(back).status_code == 303  # the right browser finishes its own sign-in
    again = app.test_client()
    again.get("/auth/login")
    assert again.get(back).status_code == 400  # the code is spent and the state is not this browser's


@pytest.mark.parametrize("fault", ["aud-another-app-with-our-azp", "email-verified-false", "forged-signature"], ids=str)
def test_refusals_are_logged_on_both_databases(
    engine: Engine, make_config: Callable[..., Config], db_url: str, idp: StandInProvider, fault: str
) -> None:
    app = app_for(engine, make_config, db_url, idp)
    plans = {i: (p, r) for i, p, r in TOKEN_FAULTS} | {i: (p, None) for i, p, _w in IDENTITY_FAULTS}
    plan, reason = plans[fault]
    client = app.test_client()
    assert_refused(app, client, idp_sign_in(client, idp, plan()), 400 if reason else 403, reason)
