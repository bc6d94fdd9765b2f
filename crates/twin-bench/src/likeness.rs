//! The likeness figures (issue 16): `twin avatar from-photos` on astronaut.png (a public-domain NASA
//! portrait, only ever scored) into a throwaway copy of the demo pack.

use anyhow::{Context, Result};
use glam::{Mat3, Mat4, Vec3, Vec4};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use twin_face::Photo;
use twin_face::likeness::Report;
use twin_render::offscreen::{FORMAT, OffscreenTarget};
use twin_render::{GpuContext, Renderer, View};
use twin_scene::AvatarScene;

/// The fitted scaled-orthographic camera of photo `index` as a clip-space matrix over the avatar's space
/// (metres): x and y as the photo's pixels, depth from the model's nearness, `turn` about the vertical
/// through `pivot` first.
fn photo_view(report: &Report, index: usize, turn: f32, pivot: Vec3) -> View {
    let photo = &report.photos[index];
    let c = &photo.camera;
    let rows = Mat3::from_cols_array_2d(&c.rotation).transpose();
    let offset = Vec3::from(report.face_offset_m);
    let (w, h) = (photo.width as f32, photo.height as f32);
    // World (m) -> model (cm): (p - offset) * 100, turned about the pivot.
    let to_model = Mat4::from_scale(Vec3::splat(100.0))
        * Mat4::from_translation(-offset)
        * Mat4::from_translation(pivot)
        * Mat4::from_rotation_y(turn)
        * Mat4::from_translation(-pivot);
    let r = Mat4::from_mat3(rows);
    // Model (cm, turned) -> pixels and depth -> clip.
    let s = c.scale;
    let [tx, ty] = c.translation;
    let to_clip = Mat4::from_cols(
        Vec4::new(2.0 * s / w, 0.0, 0.0, 0.0),
        Vec4::new(0.0, -2.0 * s / h, 0.0, 0.0),
        Vec4::new(0.0, 0.0, -1.0 / 1000.0, 0.0),
        Vec4::new(2.0 * tx / w - 1.0, 2.0 * ty / h - 1.0, 0.5, 1.0),
    );
    View {
        eye: pivot + Vec3::new(0.0, 0.0, 10.0),
        view_proj: to_clip * r * to_model,
    }
}

/// The expression fitted to a photo on the avatar's ARKit-named morphs: the face model's _L/_R halves of
/// browInnerUp and cheekPuff are one morph each on the avatar (half of each half's weight).
fn arkit_weights(
    expression: &std::collections::BTreeMap<String, f32>,
) -> std::collections::BTreeMap<String, f32> {
    let mut weights = std::collections::BTreeMap::<String, f32>::new();
    for (name, w) in expression {
        let name = match name.as_str() {
            "browInnerUp_L" | "browInnerUp_R" => "browInnerUp".to_string(),
            "cheekPuff_L" | "cheekPuff_R" => "cheekPuff".to_string(),
            other => other.replace("_L", "Left").replace("_R", "Right"),
        };
        let share = if name == "browInnerUp" || name == "cheekPuff" {
            0.5
        } else {
            1.0
        };
        *weights.entry(name).or_default() += *w * share;
    }
    weights
}

/// The fitted likeness (`glb`) drawn by the real renderer (lavapipe here) from photo `index`'s fitted
/// camera, wearing the expression fitted to it, turned by each of `turns` (radians) about the head.
pub fn render_likeness(
    report: &Report,
    index: usize,
    glb: &Path,
    turns: &[f32],
) -> Result<Vec<Photo>> {
    let ctx = Arc::new(GpuContext::headless().context("Vulkan (lavapipe: mesa-vulkan-drivers)")?);
    let mut renderer = Renderer::new(ctx, FORMAT, 1, ash::vk::ImageLayout::TRANSFER_SRC_OPTIMAL)?;
    let photo = &report.photos[index];
    let mut target = OffscreenTarget::new(&renderer, photo.width, photo.height)?;
    let bytes = std::fs::read(glb).with_context(|| format!("reading {}", glb.display()))?;
    let mut avatar = AvatarScene::new(twin_avatar::skin::load(&bytes, None)?)?;
    avatar.attach(&mut renderer)?;
    let mut pose = twin_animate::Pose::rest(&avatar.rig);
    for (name, w) in arkit_weights(&photo.expression) {
        pose.set(&avatar.rig, &name, w.min(1.0));
    }
    avatar.apply(&pose);
    avatar.upload(&mut renderer)?;
    let head = Vec3::from(report.face_offset_m);
    let mut renders = Vec::new();
    for &turn in turns {
        let p = target
            .render(&mut renderer, &[photo_view(report, index, turn, head)])?
            .remove(0);
        renders.push(Photo {
            width: p.width,
            height: p.height,
            rgb: p.rgba.chunks(4).flat_map(|c| [c[0], c[1], c[2]]).collect(),
        });
    }
    Ok(renders)
}

/// How the render from the photo's camera reads against the photo: Face Mesh's landmarks on both (error
/// as a share of the photo's eye distance) and the skin's colour difference.
pub struct RenderScore {
    pub landmark_error: f32,
    pub skin: twin_face::score::SkinDifference,
}

pub fn score_render(models: &Path, photo: &Photo, render: &Photo) -> Result<RenderScore> {
    let reader = twin_face::FaceReader::load(&twin_face::models_dir(models))?;
    let want = twin_face::dlib68::points(&reader.read(photo, "the photo")?.1);
    let got = twin_face::dlib68::points(&reader.read(render, "the render")?.1);
    Ok(RenderScore {
        landmark_error: twin_face::score::landmark_error(&want, &got),
        skin: twin_face::score::skin_difference(photo, render, &want)
            .context("the skin patches fall outside the photo")?,
    })
}

/// A throwaway copy of a pack whose persona.toml records `consent` to a likeness.
pub fn consenting_pack(pack: &Path, consent: &str) -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    let text = std::fs::read_to_string(pack.join("persona.toml"))
        .with_context(|| format!("reading {}", pack.join("persona.toml").display()))?;
    std::fs::write(
        dir.path().join("persona.toml"),
        format!("{text}\n[likeness]\nconsent = {consent:?}\n"),
    )?;
    Ok(dir)
}

pub fn section(md: &mut String, models: &Path, demo_pack: &Path) -> Result<()> {
    let dir = consenting_pack(
        demo_pack,
        "benchmark: a public-domain photo, scored and thrown away",
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
         and the bake, then the avatar rebuilt. The rebuilt avatar is then drawn by the renderer (lavapipe) from \
         the photo's fitted camera with the fitted expression, and the render read by the same Face Mesh and \
         compared with the photo on three skin patches (under each eye, above the brows; CIEDE2000 of each \
         patch's mean colour).\n",
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
    let picture = twin_face::Photo::load(&photos[0])?;
    let render = render_likeness(&report, 0, &out, &[0.0])?.remove(0);
    let score = score_render(models, &picture, &render)?;
    writeln!(
        md,
        "| Face Mesh on the render from the photo's camera, against the photo | ≤ 5% of the inter-ocular distance | {:.1}% |",
        100.0 * score.landmark_error
    )?;
    writeln!(
        md,
        "| skin colour, render against photo (CIEDE2000, mean of {}) | ≤ 8 | {:.1} |",
        score
            .skin
            .patches
            .iter()
            .map(|(name, d)| format!("{name} {d:.1}"))
            .collect::<Vec<_>>()
            .join(", "),
        score.skin.mean
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
