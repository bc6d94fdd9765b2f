//! The demo's TLS: a local CA and a certificate for this machine's names, made once into `models/tls/`
//! (`assets/config/demo.toml` serves with them; clients trust `ca.pem` through `--ca` or `TWIN_CA`).

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The names every demo certificate carries: this machine by name and by its loopback addresses.
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Makes the demo's CA and server certificate unless they exist; returns the CA clients trust.
pub fn demo_certificates(models_dir: &Path, extra_names: &[String]) -> Result<PathBuf> {
    let mut names: Vec<String> = LOOPBACK_NAMES.iter().map(|n| n.to_string()).collect();
    if let Some(host) = hostname() {
        names.push(host);
    }
    names.extend(extra_names.iter().cloned());
    names.dedup();
    let dir = models_dir.join("tls");
    let (pki, made) = twin_tls::make_demo_pki(&dir, &names)
        .with_context(|| format!("cannot make the demo's certificates in {}", dir.display()))?;
    if made {
        println!(
            "  made     {} (a CA for this machine only) and a certificate for {}",
            pki.ca.display(),
            names.join(", ")
        );
    } else {
        println!(
            "  ok       {} (delete {} to make new ones, e.g. with --tls-name for a headset's view of this machine)",
            pki.ca.display(),
            dir.display()
        );
    }
    Ok(pki.ca)
}

fn hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}
