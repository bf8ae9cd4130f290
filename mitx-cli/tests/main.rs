//! End-to-end tests of the `mitx` binary.
