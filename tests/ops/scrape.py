"""Reading the exposition the way Prometheus does."""

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample by (name, sorted labels)."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def request_count(text: str, method: str, route: str, status: int) -> float:
    key = (
        "smps_http_request_duration_seconds_count",
        (("method", method), ("route", route), ("status", str(status))),
    )
    return samples(text).get(key, 0.0)


def value(text: str, name: str, **labels: str) -> float:
    return samples(text)[(name, tuple(sorted(labels.items())))]
