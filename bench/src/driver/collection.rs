//! The results of the criterion benchmark `benches/collection.rs` (sisk's `HttpEventSourceCollection`
//! with 1k, 10k and 100k registered connections), read from criterion's `estimates.json` files so that
//! the `compare` report can print them in its table.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The operations the benchmark measures, as its group names.
pub const OPERATIONS: [&str; 3] = ["get_by_identifier", "find_prefix", "all"];
/// The collection sizes it measures.
pub const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// Where criterion keeps its results: `target/criterion`, beside the driver's `target/release`.
pub fn criterion_directory() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.join("criterion"))
}

/// The median time of `operation` at `size`, from the latest criterion run, if there is one.
pub fn median(directory: &Path, operation: &str, size: usize) -> Option<Duration> {
    let path = directory.join(operation).join(size.to_string()).join("new").join("estimates.json");
    let estimates: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let nanos = estimates.get("median")?.get("point_estimate")?.as_f64()?;
    Some(Duration::from_secs_f64(nanos / 1e9))
}
