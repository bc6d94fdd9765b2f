//! The likeness figures (issue 16): `twin avatar from-photos` on astronaut.png (a public-domain NASA
//! portrait, only ever scored) into a throwaway copy of the demo pack.

use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::Path;

pub fn section(md: &mut String, models: &Path, demo_pack: &Path) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let text = std::fs::read_to_string(demo_pack.join("persona.toml"))?;
    std::fs::write(
        dir.path().join("persona.toml"),
        format!(
            "{text}\n[likeness]\nconsent = \"benchmark: a public-domain photo, scored and thrown away\"\n"
        ),
    )?;
    let photos = [models.join("photo-astronaut/astronaut.png")];
    let out = dir.path().join("avatar.glb");
    let report = twin_face::likeness::from_photos(&twin_face::likeness::Request {
        photos: &photos,
        pack: dir.path(),
        models,
        avatar_out: &out,
    })
    .context("from-photos on astronaut.png")?;
    let photo = &report.photos[0];
    let t = &report.texture;
    writeln!(
        md,
        "## Likeness from photos (`twin avatar from-photos`, astronaut.png)\n\n\
         One frontal photo, 512×512, eyes {:.0} px apart; face detection, Face Mesh, the fit of 60 identity modes \
         and the bake, then the avatar rebuilt. The render against the photo is scored by the test \
         `crates/twin-face/tests/render.rs` (Face Mesh on a render from the fitted camera, with the fitted \
         expression: 2.1% of the eye distance when written, target 5%); the skin colour difference (CIEDE2000) \
         is not measured yet.\n",
        photo.inter_ocular_px
    )?;
    writeln!(md, "| measure | target | measured |\n|---|---|---|")?;
    writeln!(
        md,
        "| fitted landmarks, reprojected, mean over the inner face | ≤ 4% of the inter-ocular distance | {:.1}% |",
        100.0 * photo.landmark_error
    )?;
    writeln!(
        md,
        "| face texture covered (inside the jaw line and brows) | ≥ 75% | {:.0}% |",
        100.0 * t.face_coverage
    )?;
    writeln!(
        md,
        "| whole head's skin texture covered (seen / after mirroring) | | {:.0}% / {:.0}% |",
        100.0 * t.seen,
        100.0 * t.coverage
    )?;
    writeln!(
        md,
        "| fit, bake and avatar rebuild, 2 cores | ≤ 20 s | {:.1} s |",
        report.seconds
    )?;
    writeln!(
        md,
        "| iris / hair colour read | | {} / {} |\n",
        report.iris.as_deref().unwrap_or("–"),
        report.hair.as_deref().unwrap_or("–")
    )?;
    Ok(())
}
