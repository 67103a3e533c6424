"""Cache headers for what shared caches must not keep or mix up.

A response to a caller who sent credentials is theirs alone, and its body may depend on who they are
(what they may see, ``allowed_actions``): ``Cache-Control: private, no-cache`` (unless the route said
otherwise) and ``Vary: Authorization``, so a browser that keeps it revalidates it, with the caller's
credentials, before showing it again (a route that answers by itself sends ``app.core.caching.PRIVATE``).
The ETags of such bodies name the caller's representation (``app.core.deps.etag``), so a revalidation
with another caller's tag is never answered 304. The token endpoint's answers are never stored
(``no-store``, RFC 6749 §5.1). Pure ASGI: one header scan per response."""

from typing import Any

TOKEN_PATHS = ("/api/v1/auth/token", "/api/v1/auth/revoke")


class CacheHeaders:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in TOKEN_PATHS:
            value, vary = b"no-store", False
        elif any(name == b"authorization" for name, _ in scope["headers"]):
            value, vary = b"private, no-cache", True
        else:
            await self.app(scope, receive, send)
            return

        async def send_with_cache_control(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                has_cache_control = has_vary = False
                for index, (name, header) in enumerate(headers):
                    lowered = name.lower()
                    if lowered == b"cache-control":
                        has_cache_control = True
                    elif lowered == b"vary" and vary:
                        has_vary = True
                        if b"authorization" not in header.lower() and header.strip() != b"*":
                            headers[index] = (name, header + b", Authorization")
                if not has_cache_control:
                    headers.append((b"cache-control", value))
                if vary and not has_vary:
                    headers.append((b"vary", b"Authorization"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cache_control)
