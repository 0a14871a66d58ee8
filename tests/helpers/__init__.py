"""Helpers the tests and the benchmarks share: a tokenless Jupyter setup (`jupyter`), class students on one
key (`class_student`) and a throwaway Redis (`redis_server`). Benchmarks import them as `tests.helpers.x`,
run from the repository root with `python -m benchmarks.bench_x`."""
