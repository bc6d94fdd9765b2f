//! `cargo xtask fuzz`: each target of crates/twin-fuzz alone at length, in release, timed.

use crate::process::{cargo, run, step};
use anyhow::{Context, Result, bail};

pub fn fuzz(cases: u32) -> Result<()> {
    const TARGETS: [&str; 6] = ["protocol", "gltf", "persona", "wav", "sse", "sentences"];
    step(&format!(
        "property tests, {cases} inputs per target (release)"
    ));
    run(cargo().args(["test", "--release", "-p", "twin-fuzz", "--no-run"]))?;
    for target in TARGETS {
        let out = cargo()
            .args(["test", "--release", "-p", "twin-fuzz", "--test", target])
            .env("TWIN_FUZZ_CASES", cases.to_string())
            .output()
            .with_context(|| format!("cannot run the {target} target"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            print!("{text}{}", String::from_utf8_lossy(&out.stderr));
            bail!("the {target} target failed (its smallest failing input is above)");
        }
        // The harness's own time, not cargo's start-up.
        let seconds = text
            .lines()
            .filter_map(|l| l.split("finished in ").nth(1))
            .filter_map(|t| t.trim_end_matches('s').parse::<f64>().ok())
            .sum::<f64>();
        println!("  {target}: {cases} inputs per property in {seconds:.2} s, no failure");
    }
    Ok(())
}
