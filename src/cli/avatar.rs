//! `twin avatar build|from-photos|check`: make a persona's avatar from the face model, or from photos of the
//! person (with their recorded consent); tell a creator what an avatar file needs before the twin can wear it.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args)]
pub struct AvatarArgs {
    #[command(subcommand)]
    command: AvatarCommand,
}

#[derive(Subcommand)]
enum AvatarCommand {
    /// Build a persona's life-size avatar (glb) from the ICT face model: its face from the pack's identity
    /// coefficients, ARKit-named expression morphs, eyes that turn, a generated clothed body.
    Build(BuildArgs),
    /// The person's likeness from photos they supplied: the face model fitted to the landmarks of their face,
    /// the identity written into the pack with a fit report, the avatar rebuilt. The pack must record who
    /// consented (`[likeness] consent = "..."` in persona.toml).
    FromPhotos(FromPhotosArgs),
    /// Check an avatar (.glb or .gltf): morph targets (ARKit, visemes, VRM), joints, height, extensions.
    Check(CheckArgs),
}

#[derive(Args)]
struct FromPhotosArgs {
    /// Photos of the person's face (PNG or JPEG), frontal or turned a little.
    #[arg(required = true)]
    photos: Vec<PathBuf>,
    /// The persona pack to write the likeness into.
    #[arg(long)]
    persona: PathBuf,
    /// Where to write the glb (default: models/avatars/<persona id>.glb).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Where `cargo xtask setup` put the models (face detector and mesh, the ICT face model).
    #[arg(long, env = "TWIN_MODELS_DIR", default_value = "models")]
    models_dir: PathBuf,
    /// Print the fit's figures and the files written as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct BuildArgs {
    /// The persona pack whose avatar to build.
    #[arg(long, default_value = "assets/personas/owen-marsh")]
    persona: PathBuf,
    /// Where to write the glb (default: models/avatars/<persona id>.glb).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Where `cargo xtask setup` put the models (the face model is in its ict-facekit folder).
    #[arg(long, env = "TWIN_MODELS_DIR", default_value = "models")]
    models_dir: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct CheckArgs {
    /// The avatar file.
    file: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: AvatarArgs) -> Result<()> {
    match args.command {
        AvatarCommand::Build(a) => build(a),
        AvatarCommand::FromPhotos(a) => from_photos(a),
        AvatarCommand::Check(a) => check(a),
    }
}

fn build(args: BuildArgs) -> Result<()> {
    let persona = twin_avatar::persona::read_persona(&args.persona)?;
    let out = args
        .out
        .unwrap_or_else(|| default_avatar(&args.models_dir, &persona.id));
    let face_model = args.models_dir.join("ict-facekit");
    anyhow::ensure!(
        face_model.join("FaceXModel").is_dir(),
        "the ICT face model is not in {} (run `cargo xtask setup`)",
        face_model.display()
    );
    let started = std::time::Instant::now();
    let built = twin_avatar::persona::build_persona(&face_model, &persona, &out)
        .with_context(|| format!("building the avatar of {}", args.persona.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "out": out,
                "persona": persona.id,
                "triangles": built.triangles,
                "morph_targets": built.morph_targets,
                "height_m": built.height_m,
                "bytes": built.glb.len(),
                "seconds": seconds,
            })
        );
    } else {
        println!(
            "wrote {} ({} triangles, {} morph targets, {:.2} m tall, {:.1} MB, {seconds:.1} s)",
            out.display(),
            built.triangles,
            built.morph_targets.len(),
            built.height_m,
            built.glb.len() as f64 / 1e6
        );
    }
    Ok(())
}

/// Where a persona's avatar goes unless told otherwise (where setup builds it, and the apps look).
fn default_avatar(models_dir: &std::path::Path, persona_id: &str) -> PathBuf {
    models_dir.join("avatars").join(format!("{persona_id}.glb"))
}

fn from_photos(args: FromPhotosArgs) -> Result<()> {
    let persona = twin_avatar::persona::read_persona(&args.persona)?;
    let out = args
        .out
        .unwrap_or_else(|| default_avatar(&args.models_dir, &persona.id));
    let report = twin_face::likeness::from_photos(&twin_face::likeness::Request {
        photos: &args.photos,
        pack: &args.persona,
        models: &args.models_dir,
        avatar_out: &out,
    })
    .with_context(|| format!("building the likeness of {}", args.persona.display()))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    for p in &report.photos {
        println!(
            "{}: face {:.2}, eyes {:.0} px apart, landmarks fitted within {:.1}% of that",
            p.path,
            p.face_score,
            p.inter_ocular_px,
            100.0 * p.landmark_error
        );
    }
    println!(
        "identity: {} coefficients; wrote {} ({:.1} s)",
        report.identity.len(),
        report.files.join(", "),
        report.seconds
    );
    Ok(())
}

fn check(args: CheckArgs) -> Result<()> {
    let report = twin_avatar::check::check_file(&args.file)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let r = &report;
        println!("{}", args.file.display());
        println!(
            "  {} triangles, {} vertices, {} meshes, {} morph targets",
            r.triangles, r.vertices, r.meshes, r.morph_targets
        );
        println!(
            "  height {:.2} m{}",
            r.height_m,
            if r.life_size { " (life-size)" } else { "" }
        );
        println!(
            "  ARKit shapes {}/52{}",
            r.arkit_found,
            if r.arkit_missing.is_empty() {
                String::new()
            } else {
                format!(", missing: {}", r.arkit_missing.join(", "))
            }
        );
        println!(
            "  visemes {}/15{}",
            r.visemes_found,
            if r.visemes_found == 0 || r.visemes_missing.is_empty() {
                String::new()
            } else {
                format!(", missing: {}", r.visemes_missing.join(", "))
            }
        );
        if !r.vrm_expressions.is_empty() {
            println!("  VRM expressions: {}", r.vrm_expressions.join(", "));
        }
        let j = &r.joints;
        let show = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".into());
        println!(
            "  joints: head {}, neck {}, eyes {} / {}",
            show(&j.head),
            show(&j.neck),
            show(&j.eye_left),
            show(&j.eye_right)
        );
        if !r.extensions_used.is_empty() {
            println!("  extensions: {}", r.extensions_used.join(", "));
        }
        let sizes: Vec<String> = r
            .image_sizes
            .iter()
            .map(|(w, h)| format!("{w}x{h}"))
            .collect();
        println!(
            "  textures: {}{}",
            if sizes.is_empty() {
                "none (flat colours)".to_string()
            } else {
                sizes.join(", ")
            },
            if r.textured_materials.is_empty() {
                String::new()
            } else {
                format!(" (base colour of {})", r.textured_materials.join(", "))
            }
        );
        if !r.roughness_mapped.is_empty() {
            println!("  roughness maps: {}", r.roughness_mapped.join(", "));
        }
        println!(
            "  {} images, animations: {}",
            r.images,
            if r.animations.is_empty() {
                "none".to_string()
            } else {
                r.animations.join(", ")
            }
        );
        for n in &r.notes {
            println!("  note: {n}");
        }
        for p in &r.problems {
            println!("  problem: {p}");
        }
        if r.problems.is_empty() {
            println!("  ready for the twin");
        }
    }
    if !report.problems.is_empty() {
        // Scripts see the verdict in the exit status as well.
        std::process::exit(2);
    }
    Ok(())
}
