//! Compiles the GLSL shaders in `shaders/` to SPIR-V with Debian's `glslc` (installed by `cargo xtask setup`).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let shaders = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shaders");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed={}", shaders.display());
    for name in ["avatar.vert", "avatar.frag"] {
        let src = shaders.join(name);
        println!("cargo:rerun-if-changed={}", src.display());
        let dst = out.join(format!("{name}.spv"));
        let result = Command::new("glslc")
            .args(["--target-env=vulkan1.1", "-O", "-o"])
            .arg(&dst)
            .arg(&src)
            .output();
        match result {
            Ok(o) if o.status.success() => {}
            Ok(o) => panic!(
                "glslc failed on {}:\n{}",
                src.display(),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => panic!(
                "cannot run glslc ({e}): install it with `cargo xtask setup` (Debian package glslc)"
            ),
        }
    }
}
