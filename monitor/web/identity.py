"""Who a verified ID token signs in: the claim the force trusts, checked, matched to one active officer.

The token's signature, issuer, audience, times and nonce have been checked already
(:mod:`monitor.web.id_token`); this decides which officer, if any, it names.
``[web] identity_claim`` says which claim is the identity:

* ``email`` (the default): the claim named by ``email_claim``, matched case-insensitively
  to officers.csv's ``email``. An address is an identity only when the provider vouches
  for it: ``email_verified: false`` is refused, and so is Entra's ``xms_edov: false``
  (the address's domain is not verified by the tenant). When ``email_verified`` is absent
  (Entra ID leaves it out), ``email_verified_absent`` decides: ``refuse`` (the default),
  ``xms_edov`` (accept only with ``xms_edov: true``) or ``accept``.
* ``oid``, ``preferred_username`` or ``sub``: that claim, matched to officers.csv's
  ``sign_in_id`` (``oid`` and ``preferred_username`` case-insensitively, ``sub`` exactly, as
  OpenID Connect defines it). ``oid`` is Entra's immutable object id and is unique only
  within a tenant, so the configuration requires ``tenant_id`` with it.

Whatever the identity, when ``[web] tenant_id`` is set the token's ``tid`` must be that
tenant. Refusals carry a reason for the log (never a claim's value) and become the plain
403 page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.core.web_settings import WebSettings
from monitor.register.models import Officer
from monitor.web.access import ROLES, Refusal, officer_for_email

#: Longest identifier matched (the sign_in_id column's size).
MAX_SIGN_IN_ID = 255


@dataclass(frozen=True)
class Match:
    """The officer a token signs in, and the provider's id it was matched on (None: by email)."""

    officer_id: str
    email: str
    sign_in_id: str | None


def normalised(claim: str, value: str) -> str:
    """How a sign-in id is compared: ``sub`` exactly (OIDC Core), the others case-insensitively."""
    return value if claim == "sub" else value.strip().lower()


def identify(db: Session, claims: Mapping[str, Any], web: WebSettings) -> Match | Refusal:
    """The one active officer these verified claims name under ``web``'s rules, or why not."""
    if web.tenant_id and not (isinstance(claims.get("tid"), str) and claims["tid"].strip().lower() == web.tenant_id):
        return Refusal("the token's tenant (tid) is not the configured tenant_id")
    if web.identity_claim == "email":
        problem = email_problem(claims, web.email_verified_absent)
        if problem is not None:
            return Refusal(problem)
        found = officer_for_email(db, claims.get(web.email_claim))
        if isinstance(found, Refusal):
            return found
        return Match(found.officer_id, found.email, None)
    value = claims.get(web.identity_claim)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_SIGN_IN_ID or not value.isprintable():
        return Refusal(f"no usable {web.identity_claim} claim")
    key = normalised(web.identity_claim, value)
    column = Officer.sign_in_id if web.identity_claim == "sub" else func.lower(Officer.sign_in_id)
    matches = db.scalars(select(Officer).where(column == key, Officer.active.is_(True))).all()
    if not matches:
        return Refusal("not an active officer in the register")
    if len(matches) > 1:
        return Refusal("more than one active officer has this sign-in id")
    if matches[0].role not in ROLES:
        return Refusal("role not allowed")
    return Match(matches[0].officer_id, matches[0].email, key)


def email_problem(claims: Mapping[str, Any], when_absent: str) -> str | None:
    """Why the email claim cannot be trusted as an identity, or None when it can."""
    if "xms_edov" in claims and not _true(claims["xms_edov"]):
        return "the email's domain is not verified (xms_edov)"
    if "email_verified" in claims:
        return None if _true(claims["email_verified"]) else "the email is not verified (email_verified)"
    if when_absent == "accept":
        return None
    if when_absent == "xms_edov" and _true(claims.get("xms_edov")):
        return None
    return "the provider does not say the email is verified (no email_verified)"


def _true(value: object) -> bool:
    """A claim's true: JSON true, or the string "true" some providers send (Cognito, older Entra)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")
