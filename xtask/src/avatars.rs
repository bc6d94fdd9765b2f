//! The avatars setup builds: `models/avatars/<persona>.glb` for every persona pack in assets/personas.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Builds `models/avatars/<persona>.glb` for every persona pack, unless it is up to date.
pub fn build_avatars(root: &Path, models_dir: &Path) -> Result<()> {
    let face_model = models_dir.join("ict-facekit");
    let out_dir = models_dir.join("avatars");
    let mut packs: Vec<PathBuf> = std::fs::read_dir(root.join("assets/personas"))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("persona.toml").is_file())
        .collect();
    packs.sort();
    for pack in packs {
        let persona = twin_avatar::persona::read_persona(&pack)?;
        let out = out_dir.join(format!("{}.glb", persona.id));
        let stamp = out.with_extension("built.json");
        let wanted = build_stamp(&persona.options);
        if out.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
            println!("  ok       {}", out.display());
            continue;
        }
        let started = std::time::Instant::now();
        let built = twin_avatar::persona::build_persona(&face_model, &persona, &out)
            .with_context(|| format!("building the avatar of {}", pack.display()))?;
        std::fs::write(&stamp, wanted)?;
        println!(
            "  built    {} ({} triangles, {} morph targets, {:.2} m, {:.1} s)",
            out.display(),
            built.triangles,
            built.morph_targets.len(),
            built.height_m,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// What an avatar was built from: it is rebuilt when the persona's face, texture, height or the builder changes.
fn build_stamp(options: &twin_avatar::ict_avatar::BuildOptions) -> String {
    let texture = options.albedo.as_ref().map(|a| {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(&a.png))
    });
    serde_json::json!({
        "identity": options.identity,
        "albedo": texture,
        "iris": options.iris,
        "hair": options.hair,
        "height_m": options.height_m,
        "builder": twin_avatar::ict_avatar::BUILDER_REVISION,
    })
    .to_string()
}
