//! The Debian packages the project needs, and installing the missing ones (or saying which they are).

use crate::process::run;
use anyhow::{Result, bail};
use std::process::Command;

/// Debian packages: C toolchain and cmake for llama.cpp, libclang for its bindings, espeak-ng (phonemes for the
/// Piper voice, the fallback voice, lip-sync ground truth), a font for plots, curl and xz for downloads, glslc
/// for shaders, Mesa's Vulkan drivers (lavapipe renders on the CPU where there is no GPU), ALSA's headers for
/// audio in and out, Xvfb and xwd for the desktop window's test, ffmpeg for `twin render`'s MP4, and speexdsp
/// (the echo canceller).
pub const APT_PACKAGES: &[&str] = &[
    "build-essential",
    "espeak-ng",
    "xz-utils",
    "glslc",
    "mesa-vulkan-drivers",
    "libvulkan1",
    "libespeak-ng-dev",
    "fonts-dejavu-core",
    "cmake",
    "libclang-dev",
    "pkg-config",
    "curl",
    "ca-certificates",
    "libasound2-dev",
    "xvfb",
    "x11-apps",
    "ffmpeg",
    // The echo canceller.
    "libspeexdsp-dev",
    // The OpenXR loader the headset app opens at run time.
    "libopenxr-loader1",
];

/// Debian packages only the tests need (`--with-test-tools`): headless Chromium and its WebDriver server, which
/// the review console's browser tests drive (crates/twin-server/tests/common/browser.rs).
pub const TEST_APT_PACKAGES: &[&str] = &["chromium", "chromium-driver"];

/// Installs whichever of `packages` are missing, as root; otherwise (or with `no_apt`) fails naming them.
pub fn ensure_apt(packages: &[&str], no_apt: bool) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", p])
                .output()
                .map(|o| !String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
                .unwrap_or(true)
        })
        .collect();
    if missing.is_empty() {
        println!("all present: {}", packages.join(" "));
        return Ok(());
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    if no_apt || !is_root {
        bail!(
            "missing Debian packages: {}. Install them with: sudo apt-get install -y {}",
            missing.join(" "),
            missing.join(" ")
        );
    }
    println!("installing: {}", missing.join(" "));
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}
