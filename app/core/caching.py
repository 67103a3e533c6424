"""What a response whose body depends on the caller carries (app.web.caching adds it to the others)."""

# What a route whose body depends on the caller sends itself (the lean reads, which skip nothing there).
PRIVATE = {"Cache-Control": "private, no-cache", "Vary": "Authorization"}
