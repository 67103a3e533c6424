"""OpenAPI links: from an operation that creates an object to the operations that read or change it.

A client (or Schemathesis' stateful testing) follows `$response.body#/id` of the 201 (or 202) into the
path parameter of the next operation."""

from typing import Any

# Creating operation → (its success status, the path parameter, the operations that take the new id).
LINKS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "create_application": (
        "201",
        "application_id",
        (
            "get_application",
            "update_application",
            "validate_application",
            "list_attachments",
            "upload_attachment",
            "list_endorsements",
            "transition_application",
            "list_application_transitions",
            "get_application_form_pdf",
            "delete_application",
        ),
    ),
    "upload_attachment": (
        "201",
        "attachment_id",
        ("get_attachment", "download_attachment_content", "delete_attachment"),
    ),
    "create_batch": ("201", "batch_id", ("get_batch", "set_batch_items", "list_batch_transitions", "transition_batch")),
    "create_bulk_upload": ("202", "upload_id", ("get_bulk_upload",)),
    "create_call": ("201", "call_id", ("get_call", "update_call", "get_call_summary")),
    "create_organization": ("201", "org_id", ("get_organization", "update_organization")),
    "create_user": ("201", "user_id", ("update_user",)),
    "create_api_key": ("201", "key_id", ("revoke_api_key",)),
    "create_webhook": ("201", "webhook_id", ("get_webhook", "list_webhook_deliveries", "delete_webhook")),
}


def add_links(operation: dict[str, Any]) -> None:
    link = LINKS.get(operation.get("operationId", ""))
    if link is None:
        return
    status, parameter, targets = link
    operation["responses"][status]["links"] = {
        "".join(part.title() for part in target.split("_")): {
            "operationId": target,
            "parameters": {parameter: "$response.body#/id"},
            "description": f"The `{parameter}` of the created object",
        }
        for target in targets
    }
