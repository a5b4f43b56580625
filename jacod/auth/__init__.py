"""Identity and access: API tokens, the role of every RPC, ``auth_denied``
events, revocation timing. ``wiring.Auth`` puts the pieces together for the
server; the interceptor (``jacod/api/interceptors.py``) calls the
``Authenticator`` once per RPC."""
