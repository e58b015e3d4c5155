# tests/fuzz/: libFuzzer targets, built with `make fuzz` (clang).
