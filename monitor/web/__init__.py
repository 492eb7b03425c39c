"""The web app: supervisors and leads look at the register through the same scan, by role.

A small server-rendered Flask app (no JavaScript) signed in through the force's OpenID
Connect provider. Each module has one job: ``state`` (what a running app holds),
``store`` (where sessions and the access log are kept: on SQLite a file an import never
locks), ``sessions`` (server-side sessions), ``provider`` (the identity provider: Authlib
client, discovery, keys), ``id_token`` (every check of an ID token), ``identity`` (which
officer a verified token names), ``auth`` (the sign-in routes), ``access`` (who may see
which scope; every route declares its rule), ``audit`` (the s.62 access log),
``figures`` (scan results cut into page data), ``filters`` (GET parameters and path
keys), one module per group of pages, ``exports``, ``demo`` (local sign-in on the demo
register) and ``app`` (the factory that wires them together).
"""
