"""Shared fixtures. Services (Docker engine, registry, moto, PostgreSQL) are started by
the plugin modules in tests/support on first use, so every test file can run alone."""

pytest_plugins = [
    "tests.support.docker",
    "tests.support.aws",
    "tests.support.postgres",
]
