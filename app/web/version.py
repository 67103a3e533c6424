"""The service's release, from the installed package's metadata (pyproject.toml ``version``)."""

from importlib.metadata import PackageNotFoundError, version


def service_version() -> str:
    try:
        return version("smps")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"
