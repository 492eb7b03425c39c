"""Checking an ID token: every step of OpenID Connect Core 1.0, section 3.1.3.7, in one place.

Why not Authlib's own check: Authlib 1.9 checks the audience only when given an ``aud``
option, and then accepts a token naming our client id among any other audiences; it takes
the algorithms it will verify from the provider's discovery document; and its clock checks
use a fixed leeway. A token addressed to another application signed people in that way.
So Authlib's Flask client still runs the protocol (state, PKCE, the code exchange, the
provider's keys), and :func:`verify` alone decides whether the ID token it received is
accepted:

1. a JWS in compact form (a JWE or anything else is refused) whose header names one of
   ``[web] id_token_algorithms`` (public-key algorithms only: never ``none``, never an
   HMAC keyed with something public) and asks for no extension (``crit``);
2. the key is one of the provider's (its JWKS, from discovery): the one the header's
   ``kid`` names, or the only signing key when the header names none. Keys named or carried
   by the header itself (``jku``, ``x5u``, ``jwk``) are never used; a symmetric (``oct``)
   or encryption key is never used. An unknown ``kid`` fetches the set again once (key
   rotation; the caller limits how often);
3. the signature verifies with that key;
4. ``iss`` is exactly the discovery document's issuer;
5. ``aud`` (a string or a list of strings) holds our ``client_id``, and otherwise only
   ``[web] trusted_audiences``; a token with several audiences must carry ``azp``, and
   ``azp``, when present, must be our ``client_id``;
6. ``exp`` is in the future; ``iat`` and (when present) ``nbf`` are not: each within
   :data:`LEEWAY_SECONDS` of clock skew, and each a number (not a boolean, not infinite);
7. ``nonce`` is the one this browser's sign-in request carried (compared in constant time);
8. ``sub`` is a non-empty string; ``at_hash``, when present, matches the access token.

A failure raises :class:`TokenRefused` naming the step (``audience``, ``signature``...),
never a claim's value, so the reason can go to the log and to the access log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, Key

#: Clock skew allowed between the provider and this server on exp, iat and nbf, in seconds.
LEEWAY_SECONDS = 120
#: Key types that verify a public-key signature (never "oct": an HMAC secret).
PUBLIC_KEY_TYPES: tuple[str, ...] = ("RSA", "EC", "OKP")
#: Longest ID token read at all (Entra's are 1-3 KB).
MAX_TOKEN_CHARS = 16_384
_HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


class TokenRefused(Exception):
    """The ID token failed one check; ``check`` names it (no claim value, safe to log)."""

    def __init__(self, check: str):
        super().__init__(check)
        self.check = check


@dataclass(frozen=True)
class Expected:
    """What this sign-in's ID token must say."""

    issuer: str
    client_id: str
    nonce: str
    algorithms: tuple[str, ...]
    trusted_audiences: tuple[str, ...] = ()


def verify(
    raw: object,
    expected: Expected,
    keys: Callable[[bool], Mapping[str, Any]],
    *,
    now: float,
    access_token: str | None = None,
) -> dict[str, Any]:
    """The ID token's claims once every check has passed; else :class:`TokenRefused`.

    ``keys(refresh)`` returns the provider's JWKS (``refresh``: fetch it again if allowed).
    """
    obj, header = _parse(raw, expected.algorithms)
    key = _key(header, keys(False)) or (_key(header, keys(True)) if "kid" in header else None)
    if key is None:
        raise TokenRefused("key")
    registry = jws.JWSRegistry(algorithms=list(expected.algorithms), strict_check_header=False)
    try:
        valid = jws.validate_compact(obj, key, registry=registry)
    except (JoseError, ValueError, TypeError):
        valid = False
    if not valid:
        raise TokenRefused("signature")
    try:
        claims = json.loads(obj.payload)
    except (ValueError, UnicodeDecodeError):
        raise TokenRefused("format") from None
    if not isinstance(claims, dict):
        raise TokenRefused("format")
    check_claims(claims, expected, now=now)
    _check_at_hash(claims, header["alg"], access_token)
    return claims


def _parse(raw: object, algorithms: tuple[str, ...]) -> tuple[Any, dict[str, Any]]:
    """The compact JWS and its header, when its form and algorithm are acceptable."""
    if not isinstance(raw, str) or len(raw) > MAX_TOKEN_CHARS or raw.count(".") != 2 or not raw.isascii():
        raise TokenRefused("format")
    try:
        obj = jws.extract_compact(raw.encode("ascii"))
        header = dict(obj.headers())
    except (JoseError, ValueError, TypeError):
        raise TokenRefused("format") from None
    if header.get("alg") not in algorithms:
        raise TokenRefused("algorithm")
    if "crit" in header or header.get("b64") is False:
        raise TokenRefused("header")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise TokenRefused("header")
    return obj, header


def _key(header: Mapping[str, Any], jwks: Mapping[str, Any]) -> Key | None:
    """The provider's key for this header: by ``kid``, or the only signing key; else None."""
    kid = header.get("kid")
    found = []
    for data in jwks.get("keys", []) if isinstance(jwks, Mapping) else []:
        if not isinstance(data, Mapping) or data.get("kty") not in PUBLIC_KEY_TYPES:
            continue
        if data.get("use", "sig") != "sig" or data.get("alg", header["alg"]) != header["alg"]:
            continue
        if kid is not None and data.get("kid") != kid:
            continue
        found.append(data)
    if len(found) != 1:
        return None  # none, or several and no way to tell which (OIDC Core 10.1: kid required)
    try:
        key = JWKRegistry.import_key(dict(found[0]))
    except (JoseError, ValueError, TypeError):
        return None
    return None if key.is_private else key


def check_claims(claims: Mapping[str, Any], expected: Expected, *, now: float) -> None:
    """Steps 4 to 8 on claims whose signature has been verified."""
    if claims.get("iss") != expected.issuer:
        raise TokenRefused("issuer")
    audiences = _audiences(claims.get("aud"))
    if expected.client_id not in audiences:
        raise TokenRefused("audience")
    if any(a != expected.client_id and a not in expected.trusted_audiences for a in audiences):
        raise TokenRefused("audience")
    azp = claims.get("azp")
    if (len(audiences) > 1 and azp is None) or (azp is not None and azp != expected.client_id):
        raise TokenRefused("azp")
    if _instant(claims, "exp", required=True) + LEEWAY_SECONDS <= now:
        raise TokenRefused("expired")
    if _instant(claims, "iat", required=True) > now + LEEWAY_SECONDS:
        raise TokenRefused("issued_at")
    if _instant(claims, "nbf", required=False) > now + LEEWAY_SECONDS:
        raise TokenRefused("not_before")
    nonce = claims.get("nonce")
    if (
        not isinstance(nonce, str)
        or not expected.nonce
        or not hmac.compare_digest(nonce.encode("utf-8"), expected.nonce.encode("utf-8"))
    ):
        raise TokenRefused("nonce")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise TokenRefused("subject")


def _audiences(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(a, str) for a in value):
        return value
    raise TokenRefused("audience")


def _instant(claims: Mapping[str, Any], name: str, *, required: bool) -> float:
    """A NumericDate claim as a number; absent and optional: minus infinity (never in the future)."""
    value = claims.get(name)
    if value is None and not required:
        return -math.inf
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TokenRefused({"exp": "expired", "iat": "issued_at", "nbf": "not_before"}[name])
    return float(value)


def _check_at_hash(claims: Mapping[str, Any], alg: str, access_token: str | None) -> None:
    """``at_hash``: the left half of the access token's hash, as the algorithm's size says."""
    at_hash = claims.get("at_hash")
    if at_hash is None or access_token is None:
        return
    digest = _HASHES.get(alg[-3:], hashlib.sha512)(access_token.encode("utf-8")).digest()
    want = base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=")
    if not isinstance(at_hash, str) or not hmac.compare_digest(want, at_hash.encode("ascii", "replace")):
        raise TokenRefused("at_hash")
