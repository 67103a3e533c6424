"""Cache headers for what shared caches must not keep or mix up.

A response to a caller who sent credentials is theirs alone (`Cache-Control: private`, unless the route said
otherwise); the token endpoint's answers are never stored (`no-store`, RFC 6749 §5.1). Pure ASGI: one header
scan per response."""

from typing import Any

TOKEN_PATH = "/api/v1/auth/token"


class CacheHeaders:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == TOKEN_PATH:
            value = b"no-store"
        elif any(name == b"authorization" for name, _ in scope["headers"]):
            value = b"private"
        else:
            await self.app(scope, receive, send)
            return

        async def send_with_cache_control(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", value))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cache_control)
