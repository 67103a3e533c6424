"""The 422 about one field of the request body, the shape most refusals in the services take."""

from app.core.errors import FieldError, ValidationFailed
from app.core.i18n import Text


def invalid(pointer: str, code: str, message: Text) -> ValidationFailed:
    """``ValidationFailed`` naming one field (a JSON Pointer into the body), its stable code and why."""
    return ValidationFailed(errors=[FieldError(pointer, code, message)])
