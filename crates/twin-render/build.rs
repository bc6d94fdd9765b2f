//! Compiles the GLSL shaders in `shaders/` to SPIR-V with Debian's `glslc` (installed by `cargo xtask setup`).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    // Read when the script runs, not when it is compiled: a target folder shared by clones at other paths
    // reuses the compiled script.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let shaders = PathBuf::from(manifest).join("shaders");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed={}", shaders.display());
    // (source, output, defines): the skinned vertex shader is the same source with SKINNED defined.
    for (name, spv, defines) in [
        ("avatar.vert", "avatar.vert.spv", &[][..]),
        ("avatar.vert", "avatar_skinned.vert.spv", &["-DSKINNED"][..]),
        ("avatar.frag", "avatar.frag.spv", &[][..]),
    ] {
        let src = shaders.join(name);
        println!("cargo:rerun-if-changed={}", src.display());
        let dst = out.join(spv);
        let result = Command::new("glslc")
            .args(["--target-env=vulkan1.1", "-O"])
            .args(defines)
            .arg("-o")
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
