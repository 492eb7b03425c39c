"""The web app: supervisors and leads look at the register through the same scan, by role.

A small server-rendered Flask app (no JavaScript) signed in through the force's OpenID
Connect provider. Each module has one job: ``state`` (what a running app holds),
``sessions`` (server-side sessions), ``auth`` (OIDC sign-in), ``access`` (who may see
which scope; every route declares its rule), ``audit`` (the s.62 access log),
``figures`` (scan results cut into page data), ``filters`` (GET parameters), one
module per group of pages, ``exports``, ``demo`` (local sign-in on the demo register)
and ``app`` (the factory that wires them together).
"""
