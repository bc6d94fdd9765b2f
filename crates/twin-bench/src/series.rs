//! A named series of measurements and its table row (p50, p95, n).

use twin_bench::percentile;

pub(crate) struct Series {
    pub(crate) name: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) values: Vec<f64>,
}

impl Series {
    pub(crate) fn new(name: &'static str, unit: &'static str) -> Self {
        Series {
            name,
            unit,
            values: Vec::new(),
        }
    }
    pub(crate) fn row(&self) -> String {
        // Ratios without a unit (real-time factors) need more digits than milliseconds.
        let digits = if self.unit.is_empty() { 3 } else { 1 };
        format!(
            "| {} | {:.digits$} {u} | {:.digits$} {u} | {} |",
            self.name,
            percentile(&self.values, 50.0),
            percentile(&self.values, 95.0),
            self.values.len(),
            u = self.unit
        )
    }
}
