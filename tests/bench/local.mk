# tests/bench/: the benchmark (./quickstart bench). tests/bench/run drives
# it; the floor prober is built on demand (make tests/bench/yaoki-bench-floor).
EXTRA_PROGRAMS = tests/bench/yaoki-bench-floor
tests_bench_yaoki_bench_floor_SOURCES = tests/bench/floor.c
CLEANFILES += tests/bench/yaoki-bench-floor
EXTRA_DIST += tests/bench/run
