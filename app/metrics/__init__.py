"""Prometheus metrics: per-request series written by every worker process, business gauges read from the
database at scrape time, and the guarded ``GET /metrics`` endpoint (docs/deployment.md, "Metrics")."""
