"""The document's top-level ``webhooks`` (OpenAPI 3.1): the delivery of each event type, as a receiver sees it."""

from typing import Any

from app.events.event_schemas import DATA, UNKNOWN, _component

TEST_TYPE = "webhook.test"
DELIVERY = """\
POSTed to the subscription's `url` for each `{type}` event its owner may read (the same events, at the
same moment, as the owner's change feed: docs/change-feed.md), signed per Standard Webhooks.

Delivery is **at least once**: a retry after a timeout, a redelivery or a worker restart may send an
event again. Dedupe by the event id (`data.id`, the same in the feed) or by the `webhook-id` header
(the delivery's id, the same on every retry). Deliveries are not ordered across events: order by the
time or mirror with the feed. Answer 2xx quickly; anything else (or no answer in 10 s) is retried with
growing delays for three days, then the delivery is `failed` and may be redelivered
(`POST /api/v1/webhooks/{{id}}/deliveries/{{delivery_id}}/redeliver`)."""

_HEADERS = [
    ("webhook-id", "The delivery's id: the same on every retry and redelivery of one event to one subscription"),
    ("webhook-timestamp", "When this attempt was signed, in Unix seconds: refuse one far from your clock"),
    (
        "webhook-signature",
        "`v1,` + base64 HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}` with the subscription's secret "
        "(the base64 after `whsec_`); several space-separated signatures may be sent",
    ),
]


def _payload(name: str, event_type: str | None, data: dict[str, Any], description: str) -> dict[str, Any]:
    type_schema: dict[str, Any] = (
        {"type": "string", "const": event_type, "description": f"`{event_type}`"}
        if event_type
        else {"type": "string", "description": "The event's type (as `data.type`)"}
    )
    return {
        "title": name,
        "description": description + ". Delivered at least once: dedupe by the event id (`data.id`)",
        "type": "object",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": type_schema,
            "timestamp": {"type": "string", "format": "date-time", "description": "When the event happened"},
            "data": {**data, "description": data.get("description") or "The event, as the change feed shows it"},
        },
    }


def _operation(event_type: str, payload: str, description: str) -> dict[str, Any]:
    return {
        "post": {
            "operationId": "deliver_" + event_type.replace(".", "_"),
            "summary": f"A `{event_type}` delivery",
            "description": description,
            "tags": ["webhooks"],
            "security": [],
            "parameters": [
                {"name": name, "in": "header", "required": True, "description": text, "schema": {"type": "string"}}
                for name, text in _HEADERS
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{payload}"}}},
            },
            "responses": {
                "200": {"description": "Received (any 2xx): the delivery succeeded"},
                "400": {"description": "Refused (any other answer, e.g. a signature that does not verify): retried"},
            },
        }
    }


def document_webhooks(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    webhooks: dict[str, Any] = {}
    for event_type in sorted(DATA):
        event = _component(event_type)
        payload = event.removesuffix("Event") + "Delivery"
        components[payload] = _payload(
            payload,
            event_type,
            {"$ref": f"#/components/schemas/{event}"},
            f"The body of a `{event_type}` delivery: `data` is the event as the feed shows it",
        )
        webhooks[event_type] = _operation(event_type, payload, DELIVERY.format(type=event_type))
    components["UnknownEventDelivery"] = _payload(
        "UnknownEventDelivery",
        None,
        {"$ref": f"#/components/schemas/{UNKNOWN}"},
        "The body of a delivery of an event type added after this version of the document (additive: "
        "docs/versioning.md): keep, skip or log it, and answer 2xx",
    )
    components["WebhookTestData"] = {
        "title": "WebhookTestData",
        "description": "The test event: which subscription it was sent to, and who asked",
        "type": "object",
        "required": ["id", "type", "occurred_at", "data"],
        "properties": {
            "id": {"type": "string", "description": "A fresh event id (in no feed)"},
            "type": {"type": "string", "const": TEST_TYPE, "description": f"`{TEST_TYPE}`"},
            "occurred_at": {"type": "string", "format": "date-time", "description": "When the test was asked for"},
            "data": {
                "type": "object",
                "required": ["webhook_id", "requested_by"],
                "properties": {
                    "webhook_id": {"type": "string", "description": "The subscription"},
                    "requested_by": {"type": "string", "description": "The user who sent the test"},
                },
                "description": "The subscription and the user who sent the test",
            },
        },
    }
    components["WebhookTestDelivery"] = _payload(
        "WebhookTestDelivery",
        TEST_TYPE,
        {"$ref": "#/components/schemas/WebhookTestData"},
        "The body of a test delivery (`POST /api/v1/webhooks/{id}/test`): signed like any other, in no feed",
    )
    webhooks[TEST_TYPE] = _operation(
        TEST_TYPE,
        "WebhookTestDelivery",
        "Sent on `POST /api/v1/webhooks/{id}/test`, whatever types the subscription chose: check the address "
        "and the signature with it. Signed and retried like every delivery.",
    )
    webhooks["unknown"] = _operation(
        "unknown",
        "UnknownEventDelivery",
        "An event type added after this version of the document. New types are additive: a receiver answers "
        "2xx to what it does not know (or subscribes to the types it knows), and may read it later from "
        "the feed.",
    )
    schema["webhooks"] = webhooks
