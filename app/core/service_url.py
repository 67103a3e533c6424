"""The service root a command-line client is given (``--url``), checked before any request: a typo is a usage
error at once, not minutes of retries or a 404 from the wrong path."""

import httpx


def checked_service_root(url: str) -> str:
    """``url`` without a trailing slash, or ValueError saying what is wrong with it."""
    example = "e.g. http://127.0.0.1:8000"
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError):
        raise ValueError(f"--url {url!r} is not a URL ({example})") from None
    if "://" not in url:
        raise ValueError(f"--url {url!r} has no scheme: did you mean http://{url.strip()}?")
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"--url {url!r} needs http:// or https:// and a host ({example})")
    path = parsed.path.rstrip("/")
    if path.endswith("/api/v1") or "/api/v1/" in path:
        root = str(parsed.copy_with(path=path[: path.index("/api/v1")] or "/", query=None, fragment=None))
        raise ValueError(f"--url points at the API ({parsed.path}), give the service root instead: {root.rstrip('/')}")
    if parsed.query or parsed.fragment:
        raise ValueError(f"--url {url!r} should carry no query or fragment ({example})")
    return str(parsed).rstrip("/")
