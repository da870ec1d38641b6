"""Helpers the tests and benchmarks share: personas, subprocesses against the test database,
and waiting for a condition.

They live in a package rather than in ``conftest.py`` so that a test module imports them like any
other code (``from testsupport.personas import make_user``); ``conftest.py`` keeps only fixtures
and re-exports these names for code written against it.
"""
