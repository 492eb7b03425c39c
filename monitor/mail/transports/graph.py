"""Microsoft Graph ``sendMail``, for tenants that have turned SMTP AUTH off altogether.

Each message goes as its stored MIME bytes, base64-encoded, in ``POST
{graph.base_url}/users/{graph.mailbox}/sendMail`` (``Content-Type: text/plain``), with an
app-only token for ``https://graph.microsoft.com/.default`` (application permission
``Mail.Send``) from :mod:`.tokens`. Graph takes the recipients from the MIME headers, so
the transport checks again that the message is addressed to exactly its one recipient
(To only, no Cc/Bcc) before it goes. One HTTPS connection is kept for the batch.

What Graph's answers mean (see :mod:`monitor.mail.transports.base`):

* 202 (any 2xx): accepted; ``202 Accepted request-id <id>`` is returned as the proof.
* 429, and 5xx with ``Retry-After``: throttled or busy. Waits as asked, up to
  :data:`MAX_WAIT_SECONDS` for one message, and tries again; asked to wait longer, the
  run stops offering messages (:class:`Unreachable`: retried later with backoff).
* other 5xx, 408, or no answer before anything was sent: :class:`TransientFailure`.
* the connection lost after the request went (read timeout): :class:`UnknownOutcome`,
  resent next run with the same Message-ID.
* 401: the token is renewed once and the message offered again; refused again, the
  batch stops (:class:`StopBatch`) without spending an attempt, like a refused SMTP login.
  403 (permission missing, or an application access policy that excludes the mailbox)
  and 404 (no such mailbox) are our configuration too: the batch stops.
* any other 4xx (e.g. 400 for a message Graph will not take): a dead letter
  (:class:`PermanentFailure`).

Reasons keep Graph's status, error code and the first sentence of its message, with
any address in it masked: no body, no token, no personal data.
"""

from __future__ import annotations

import base64
import contextlib
import re
import time
import uuid
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlsplit

import requests
from urllib3.exceptions import NewConnectionError

from monitor.core.config import Config
from monitor.mail.messages import addressing_problem
from monitor.mail.transports.base import (
    Outgoing,
    PermanentFailure,
    SendError,
    StopBatch,
    TransientFailure,
    Transport,
    UnknownOutcome,
    Unreachable,
)
from monitor.mail.transports.tokens import GRAPH_SCOPE, HttpSession, TokenProvider, provider_for

#: The longest the transport waits on Retry-After for one message before giving up this run.
MAX_WAIT_SECONDS = 30.0
#: Requests for one message at most (throttle waits and one token renewal included).
MAX_REQUESTS = 4
_ADDRESS = re.compile(r"[^\s'\"<>()]+@[^\s'\"<>()]+")


class GraphTransport(Transport):
    """Sends through ``/users/{mailbox}/sendMail``; construction does no I/O."""

    name = "graph"

    def __init__(self, config: Config):
        self.config = config
        graph = config.graph
        self.url = f"{graph.base_url}/users/{quote(graph.mailbox, safe='@')}/sendMail"
        self._http: requests.Session | None = None
        self._tokens: TokenProvider | None = None

    def open(self) -> None:
        s = self.config.smtp
        self._tokens = provider_for(s.oauth, GRAPH_SCOPE, ca_file=s.ca_file, timeout=s.timeout)
        self._tokens.token()  # a token problem stops the batch before any message
        self._http = HttpSession(s.ca_file, s.timeout)

    def send(self, message: Outgoing) -> str:
        problem = addressing_problem(message.content, message.to)
        if problem:
            raise PermanentFailure(problem)
        if self._http is None or self._tokens is None:
            self.open()
        assert self._http is not None and self._tokens is not None
        body = base64.b64encode(message.content)
        renewed = False
        waited = 0.0
        for _ in range(MAX_REQUESTS):
            token = self._tokens.token()
            response = self._post(body, token.value)
            status = response.status_code
            if 200 <= status < 300:
                request_id = response.headers.get("request-id", "")
                return f"{status} {response.reason or 'Accepted'}" + (f" request-id {request_id}" if request_id else "")
            reason = _reason(response)
            if status == 401 and not renewed:
                renewed = True
                self._tokens.renew()
                continue
            if status == 429 or status >= 500:
                delay = _retry_after(response)
                if delay is not None and waited + delay <= MAX_WAIT_SECONDS:
                    waited += delay
                    time.sleep(delay)
                    continue
                if status == 429 or delay is not None:
                    wait = f"; Retry-After {delay:.0f} s" if delay is not None else ""
                    raise Unreachable(f"Graph is throttling us: {reason}{wait}")
            raise _classify(status, reason)
        raise TransientFailure(f"Graph still busy after {MAX_REQUESTS} requests (waited {waited:.0f} s)")

    def _post(self, body: bytes, token: str) -> requests.Response:
        assert self._http is not None
        try:
            return self._http.post(
                self.url,
                data=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "text/plain",
                    "client-request-id": str(uuid.uuid4()),
                },
                allow_redirects=False,
            )
        except requests.exceptions.SSLError:
            raise StopBatch("Graph TLS certificate not trusted (check smtp.ca_file / graph.base_url)") from None
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ConnectionError) as exc:
            if isinstance(exc, requests.exceptions.ConnectTimeout) or _not_connected(exc):
                raise Unreachable(f"Graph unreachable at {urlsplit(self.url).netloc}: {type(exc).__name__}") from None
            lost = f"connection to Graph lost after the request was sent ({type(exc).__name__})"
            raise UnknownOutcome(lost) from None
        except requests.exceptions.ReadTimeout:
            raise UnknownOutcome("no answer from Graph after the request was sent (read timeout)") from None
        except requests.RequestException as exc:
            raise TransientFailure(f"request to Graph failed: {type(exc).__name__}") from None

    def close(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            with contextlib.suppress(Exception):
                http.close()


def _not_connected(exc: Exception) -> bool:
    """True when the connection was never made (refused, no route, DNS), so nothing went."""
    cause: object = exc
    for _ in range(8):  # requests wraps urllib3's MaxRetryError, which holds the reason
        if isinstance(cause, NewConnectionError | ConnectionRefusedError):
            return True
        if not isinstance(cause, BaseException):
            return False
        cause = getattr(cause, "reason", None) or cause.__cause__ or cause.__context__ or (cause.args or [None])[0]
    return False


def _retry_after(response: requests.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _reason(response: requests.Response) -> str:
    """``<status> <error code>: <first sentence of the message>``, addresses masked."""
    code, text = "", ""
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        error = response.json().get("error") or {}
        code, text = str(error.get("code") or ""), str(error.get("message") or "")
    text = _ADDRESS.sub("<address>", " ".join(text.split())).split(". ", 1)[0].rstrip(".")[:160]
    head = f"{response.status_code} {code or response.reason or ''}".strip()
    return f"{head}: {text}" if text else head


def _classify(status: int, reason: str) -> SendError:
    if status == 401:
        return StopBatch(f"Graph refused our token: {reason}")
    if status == 403:
        return StopBatch(f"Graph refused permission (Mail.Send, access policy?): {reason}")
    if status == 404:
        return StopBatch(f"Graph does not know the sending mailbox (check graph.mailbox): {reason}")
    if 300 <= status < 400:
        return StopBatch(f"Graph redirected the request (check graph.base_url): {reason}")
    if status == 408 or status >= 500:
        return TransientFailure(f"Graph: {reason}")
    return PermanentFailure(f"Graph refused the message: {reason}")
