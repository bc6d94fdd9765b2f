//! `cargo xtask setup`: Debian packages, the models in models/manifest.toml, the avatars, the demo's TLS and,
//! with `--with-test-tools`, the tools the tests and benchmarks need. Every other task starts with it.

use crate::SetupArgs;
use crate::apt::{APT_PACKAGES, TEST_APT_PACKAGES, ensure_apt};
use crate::process::step;
use crate::{avatars, fetch, tls};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// What setup made that the other tasks use.
pub struct Setup {
    /// The demo CA clients trust (TWIN_CA).
    pub ca: PathBuf,
    pub models_dir: PathBuf,
    pub llama_server: Option<PathBuf>,
    /// Monado's runtime manifest (for XR_RUNTIME_JSON).
    pub monado: Option<PathBuf>,
}

pub fn setup(root: &Path, args: &SetupArgs) -> Result<Setup> {
    step("Debian packages");
    ensure_apt(APT_PACKAGES, args.no_apt)?;
    let manifest = fetch::Manifest::load(&root.join("models/manifest.toml"))?;
    let ctx = fetch::Context::new(root)?;
    step(&format!(
        "models (mirror: {})",
        ctx.mirror
            .as_ref()
            .map_or("none".into(), |m| m.display().to_string())
    ));
    for (i, model) in manifest.model.iter().enumerate() {
        println!(
            "[{}/{}] {} — {}",
            i + 1,
            manifest.model.len(),
            model.name,
            model.about
        );
        ctx.fetch_model(model)?;
    }
    step("avatars (each persona's face from the ICT face model, with a generated body)");
    avatars::build_avatars(root, &ctx.models_dir)?;
    step("TLS for the demo (a local CA and the server's certificate)");
    let ca = tls::demo_certificates(&ctx.models_dir, &args.tls_name)?;
    let mut tools = std::collections::HashMap::new();
    if args.with_test_tools {
        step("Debian packages for the tests");
        ensure_apt(TEST_APT_PACKAGES, args.no_apt)?;
        for tool in &manifest.tool {
            step(&format!("tool {} — {}", tool.name, tool.about));
            let apt: Vec<&str> = tool.apt.iter().map(String::as_str).collect();
            ensure_apt(&apt, args.no_apt)?;
            tools.insert(tool.name.clone(), ctx.build_tool(tool)?);
        }
    }
    Ok(Setup {
        ca,
        models_dir: ctx.models_dir.clone(),
        llama_server: tools.remove("llama-server"),
        monado: tools.remove("monado"),
    })
}
