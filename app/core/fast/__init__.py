"""The service's fast paths, in one place: everything here trades a library's general machinery for a
narrower, cheaper route, and is the only code allowed to lean on a library's private parts.

Each module says what it saves and which benchmark (``python -m bench.<name>``) shows it:

* ``select``        — ``DirectSelect``: hot SELECTs on the driver's cursor (``bench.read_path``);
* ``reader``        — SQLite: the event loop's own read connection (``bench.read_path``);
* ``server_reader`` — PostgreSQL: read connections kept out of the pool, and one-statement reads awaited
  on the event loop (``bench.read_path --postgres``);
* ``routes``        — lean and hoisted routes for the hottest GETs (``bench.read_path``, ``bench.form_pdf``);
* ``inserts``       — ``insert_many``: COPY / ``executemany`` for many rows (``bench.bulk_import``);
* ``sqlite``        — the SQLite driver hooks: PRAGMAs and ``BEGIN`` straight on the driver (``bench.read_path``);
* ``collector``     — keeping the cyclic garbage collector out of large parses and imports (``bench.bulk_import``);
* ``libraries``     — small functions over private parts of asn1crypto, gmalg, httpx, openpyxl and starlette.

The versions these rely on are bounded in pyproject.toml (sqlalchemy <2.2, psycopg <4, pydantic <3);
tests/core/fast checks each against the ordinary path on SQLite and PostgreSQL.
"""
