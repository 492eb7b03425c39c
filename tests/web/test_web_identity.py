"""Signing in on a claim the force controls: ``[web] identity_claim`` and officers.csv's ``sign_in_id``.

With ``oid`` (Entra's immutable object id, only with the right tenant), ``preferred_username``
(the UPN) or ``sub``, the officer is the one whose ``sign_in_id`` matches, whatever email
the token carries; the email is not an identity then. The register is read again on every
request, so an import that changes an officer's ``sign_in_id`` ends their sessions. The
column comes through the ordinary import (optional; absent, the stored value stays), and
bad settings stop the app at start with key, value and expectation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from builders import add_officer
from flask import Flask
from oidc_idp import CLIENT_ID, CLIENT_SECRET, TENANT, Plan, StandInProvider, running
from sqlalchemy import Engine, select, update
from web_support import LEAD, OM_A1, SUP_A, TEAM_A, assert_refused, build_register, email, make_app, store, web_config
from web_support import idp_sign_in as sign_in

from monitor.core import config as config_module
from monitor.core.config import Config
from monitor.register.db import reading, transaction
from monitor.register.importer import import_directory
from monitor.register.models import ImportReject, Officer, WebSession

OIDS = {
    LEAD: "6A1C2E0F-0000-4000-8000-00000000000A",
    SUP_A: "6a1c2e0f-0000-4000-8000-00000000000b",
    OM_A1: "6a1c2e0f-0000-4000-8000-00000000000c",
}


@pytest.fixture(scope="module")
def idp() -> Iterator[StandInProvider]:
    with running() as provider:
        yield provider


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_OIDC_CLIENT_SECRET", CLIENT_SECRET)


def register_with_ids(engine: Engine, ids: dict[str, str]) -> None:
    build_register(engine)
    with transaction(engine) as s:
        for officer_id, value in ids.items():
            s.execute(update(Officer).where(Officer.officer_id == officer_id).values(sign_in_id=value))


def app_by(
    engine: Engine,
    make_config: Callable[..., Config],
    db_url: str,
    idp: StandInProvider,
    claim: str,
    ids: dict[str, str],
) -> Flask:
    register_with_ids(engine, ids)
    web: dict[str, Any] = {"identity_claim": claim, "tenant_id": TENANT if claim == "oid" else ""}
    return make_app(web_config(make_config, db_url, issuer=idp.issuer, client_id=CLIENT_ID, **web), engine)


def entra(oid: str, **claims: Any) -> Plan:
    """An Entra-like token: the oid and tenant, and an email that is not to be trusted."""
    return Plan({"oid": oid, "tid": TENANT, "email": email(LEAD), "email_verified": False, **claims})


def test_oid_signs_in_the_officer_it_names_whatever_the_email_says(
    engine: Engine, make_config: Callable[..., Config], db_url: str, idp: StandInProvider
) -> None:
    app = app_by(engine, make_config, db_url, idp, "oid", OIDS)
    client = app.test_client()
    answer = sign_in(client, idp, entra(OIDS[SUP_A].upper()))  # oids compare case-insensitively
    assert answer.status_code == 303
    assert client.get("/").headers["Location"] == f"/teams/{TEAM_A}"
    assert client.get("/force").status_code == 404  # the supervisor, not the lead the email names
    with reading(store(app)) as db:
        row = db.scalars(select(WebSession).where(WebSession.officer_id == SUP_A)).one()
    assert row.sign_in_id == OIDS[SUP_A].lower()


@pytest.mark.parametrize(
    "plan",
    [
        entra(OIDS[LEAD], tid="99999999-1111-4222-8333-444444444444"),
        entra(OIDS[LEAD], tid=None),
        entra("6a1c2e0f-0000-4000-8000-0000000000ff"),
        Plan({"tid": TENANT, "email": email(LEAD), "email_verified": True}),  # no oid: the email is not used
        entra(OIDS[LEAD] + "\x00"),
    ],
    ids=["other-tenant", "no-tenant", "unknown-oid", "no-oid", "oid-with-nul"],
)
def test_oid_is_trusted_only_from_the_tenant_and_for_a_known_officer(
    sqlite_engine: Engine, make_config: Callable[..., Config], sqlite_url: str, idp: StandInProvider, plan: Plan
) -> None:
    plan.claims = {k: v for k, v in plan.claims.items() if v is not None}
    app = app_by(sqlite_engine, make_config, sqlite_url, idp, "oid", OIDS)
    client = app.test_client()
    assert_refused(app, client, sign_in(client, idp, plan), 403, None)


def test_preferred_username_matches_case_insensitively_and_sub_exactly(
    sqlite_engine: Engine, make_config: Callable[..., Config], sqlite_url: str, idp: StandInProvider
) -> None:
    ids = {LEAD: "Lead.Nine@Police.Example", SUP_A: "sub-Case-Sensitive-1"}
    app = app_by(sqlite_engine, make_config, sqlite_url, idp, "preferred_username", ids)
    client = app.test_client()
    assert sign_in(client, idp, Plan({"preferred_username": "lead.nine@police.example"})).status_code == 303
    assert client.get("/force").status_code == 200
    config = web_config(make_config, sqlite_url, issuer=idp.issuer, client_id=CLIENT_ID, identity_claim="sub")
    by_sub = make_app(config, sqlite_engine)
    exact = by_sub.test_client()
    assert sign_in(exact, idp, Plan({}, sub="sub-Case-Sensitive-1")).status_code == 303
    other_case = by_sub.test_client()
    assert_refused(by_sub, other_case, sign_in(other_case, idp, Plan({}, sub="sub-case-sensitive-1")), 403, None)


def test_one_sign_in_id_on_two_active_officers_signs_in_neither(
    sqlite_engine: Engine, make_config: Callable[..., Config], sqlite_url: str, idp: StandInProvider
) -> None:
    app = app_by(sqlite_engine, make_config, sqlite_url, idp, "oid", {LEAD: OIDS[LEAD], SUP_A: OIDS[LEAD].lower()})
    client = app.test_client()
    assert_refused(app, client, sign_in(client, idp, entra(OIDS[LEAD])), 403, None)


def test_an_import_that_changes_the_sign_in_id_ends_the_session(
    engine: Engine, make_config: Callable[..., Config], db_url: str, idp: StandInProvider, tmp_path: Path
) -> None:
    app = app_by(engine, make_config, db_url, idp, "oid", OIDS)
    client = app.test_client()
    assert sign_in(client, idp, entra(OIDS[SUP_A])).status_code == 303
    assert client.get(f"/teams/{TEAM_A}").status_code == 200
    extract = tmp_path / "extract"
    extract.mkdir()
    (extract / "officers.csv").write_text(
        "officer_id,name,email,team,role,sign_in_id\n"
        f"{SUP_A},Officer {SUP_A},{email(SUP_A)},{TEAM_A},supervisor,6a1c2e0f-0000-4000-8000-0000000000bb\n"
    )
    import_directory(engine, app.extensions["visit_monitor"].config, extract)
    refused = client.get(f"/teams/{TEAM_A}")
    assert refused.status_code == 403 and "RSO-" not in refused.get_data(as_text=True)
    with reading(store(app)) as db:
        assert db.scalars(select(WebSession).where(WebSession.officer_id == SUP_A)).all() == []
    assert client.get(f"/teams/{TEAM_A}").status_code == 303
    assert sign_in(client, idp, entra("6A1C2E0F-0000-4000-8000-0000000000BB")).status_code == 303


def test_sign_in_id_comes_through_the_import_and_stays_when_the_column_is_absent(
    engine: Engine, make_config: Callable[..., Config], db_url: str, tmp_path: Path
) -> None:
    config = make_config(db_url)
    with transaction(engine) as s:
        add_officer(s, "OM-S1", sign_in_id="kept-1")
    first = tmp_path / "first"
    first.mkdir()
    (first / "officers.csv").write_text(
        "officer_id,name,email,team,role,sign_in_id\n"
        "OM-S2,Officer S2,om-s2@police.example,T1,offender_manager, 6a1c2e0f-0000-4000-8000-000000000002 \n"
        "OM-S3,Officer S3,om-s3@police.example,T1,offender_manager,\n"
        "OM-S4,Officer S4,om-s4@police.example,T1,offender_manager,secret-upn\x1b[31m@police.example\n"
        f"OM-S5,Officer S5,om-s5@police.example,T1,offender_manager,{'u' * 256}\n"
    )
    result = import_directory(engine, config, first)
    assert [(r.line, r.field) for r in result.rejects] == [(4, "sign_in_id"), (5, "sign_in_id")]
    assert all("secret-upn" not in r.reason and "uuu" not in r.reason for r in result.rejects)
    second = tmp_path / "second"
    second.mkdir()
    (second / "officers.csv").write_text(
        "officer_id,name,email,team,role\n"
        "OM-S1,Officer S1,om-s1@police.example,T1,supervisor\n"
        "OM-S2,Officer S2,om-s2@police.example,T1,supervisor\n"
    )
    import_directory(engine, config, second)
    with reading(engine) as db:
        stored = {row[0]: row[1] for row in db.execute(select(Officer.officer_id, Officer.sign_in_id))}
        reasons = db.scalars(select(ImportReject.reason)).all()
    assert stored == {
        "OM-S1": "kept-1",
        "OM-S2": "6a1c2e0f-0000-4000-8000-000000000002",
        "OM-S3": None,
    }
    assert all("secret-upn" not in r for r in reasons)


@pytest.mark.parametrize(
    ("web", "key", "expected"),
    [
        ({"identity_claim": "oid"}, "web.tenant_id", "tenant"),
        ({"identity_claim": "upn"}, "web.identity_claim", '"preferred_username"'),
        ({"tenant_id": "police-tenant"}, "web.tenant_id", "GUID"),
        ({"email_verified_absent": "trust"}, "web.email_verified_absent", '"xms_edov"'),
        ({"id_token_algorithms": ["HS256"]}, "web.id_token_algorithms", "public-key"),
        ({"id_token_algorithms": ["none"]}, "web.id_token_algorithms", "public-key"),
        ({"id_token_algorithms": []}, "web.id_token_algorithms", "at least one"),
        ({"trusted_audiences": "reporting-api"}, "web.trusted_audiences", "a list"),
        ({"trusted_audiences": ["ok", "bad\x00"]}, "web.trusted_audiences", "a list"),
    ],
)
def test_bad_sign_in_settings_name_key_and_expectation(web: dict[str, Any], key: str, expected: str) -> None:
    with pytest.raises(config_module.ConfigError) as info:
        config_module.load(overrides={"web": web})
    assert info.value.key == key and expected in str(info.value)


def test_the_defaults_are_the_strict_choices() -> None:
    web = config_module.load(overrides={}).web
    assert (web.identity_claim, web.email_verified_absent, web.tenant_id) == ("email", "refuse", "")
    assert (web.trusted_audiences, web.id_token_algorithms) == ((), ("RS256",))
