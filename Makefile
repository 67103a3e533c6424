.PHONY: run test lint bench openapi

run:  ## set up, migrate, load demo data and serve on http://127.0.0.1:8000
	scripts/run.sh

test:  ## set up and run the whole suite on SQLite and PostgreSQL
	scripts/test.sh

lint:  ## ruff format --check, ruff check, mypy on app/ (also the first step of make test)
	scripts/lint.sh

openapi:
	.venv/bin/smps openapi

bench:
	.venv/bin/python -m bench $(BENCH_ARGS)
