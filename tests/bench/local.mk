# tests/bench/: the benchmark (./quickstart bench).
