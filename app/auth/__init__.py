"""Who is calling: the roles, the caller of a request (``Principal``) and the dependencies that name it.

Every part that answers a caller imports this package; none of it imports another part of the domain.
How a credential becomes a principal is the accounts part's (``app.accounts.principal.authenticate``),
handed to the application by ``create_app`` as ``app.state.authenticate``."""
