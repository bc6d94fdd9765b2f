//! Measurements shared by the `twin-bench` binary (which writes BENCHMARKS.md) and the tests that hold the
//! same figures to their targets.

pub mod avatar;
pub mod headset;
pub mod lipsync;
pub mod listen;
pub mod rooms;

/// The value at percentile `p` (0..=100) of `values`, nearest rank; NaN when there are none.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let idx = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[idx.min(v.len() - 1)]
}
