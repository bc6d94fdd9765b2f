//! Measurements shared by the `twin-bench` binary (which writes BENCHMARKS.md) and the tests that hold the
//! same figures to their targets.

pub mod lipsync;
