"""What the tests share besides fixtures, and what the benchmarks stand on.

Fixtures live in tests/conftest.py; the helpers they and the test modules use live here,
one module per concept, so `bench/` imports them without importing a test module or pytest's
conftest (`PYTHONPATH=tests`, then `from support.server import start_server`).
"""
