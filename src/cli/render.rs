//! `twin render`: the twin speaking a reply, rendered offscreen to PNG frames (and an MP4 with the audio when
//! ffmpeg is installed). The mouth follows the lip-sync track on the audio's sample clock.

use anyhow::{Context, Result, bail};
use clap::Args;
use glam::Vec3;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use twin_render::avatar::AvatarScene;
use twin_render::offscreen::{FORMAT, OffscreenTarget};
use twin_render::{GpuContext, Renderer, View};

#[derive(Args)]
pub struct RenderArgs {
    /// The avatar (glb or gltf).
    #[arg(
        long,
        env = "TWIN_AVATAR",
        default_value = "models/avatars/owen-marsh.glb"
    )]
    pub avatar: PathBuf,
    /// The lip-sync track (`twin say --lipsync`, or the .lipsync.json `twin chat --speech` saves).
    #[arg(long)]
    pub lipsync: PathBuf,
    /// The reply's audio: sets the length, and goes into the MP4.
    #[arg(long)]
    pub audio: Option<PathBuf>,
    /// Folder for frame-NNNNN.png (and twin.mp4).
    #[arg(long, default_value = "out/render")]
    pub out: PathBuf,
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    #[arg(long, default_value_t = 480)]
    pub width: u32,
    #[arg(long, default_value_t = 640)]
    pub height: u32,
    /// Print one JSON object with the figures instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A lip-sync track as `twin say` writes it.
#[derive(serde::Deserialize)]
struct Track {
    sample_rate: u32,
    arkit: Vec<String>,
    frames: Vec<TrackFrame>,
}

#[derive(serde::Deserialize)]
struct TrackFrame {
    sample: u64,
    arkit: Vec<f32>,
}

fn read_track(path: &Path) -> Result<Track> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let track: Track = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a lip-sync track (twin say --lipsync writes one)",
            path.display()
        )
    })?;
    if track.sample_rate == 0 {
        bail!("{}: sample_rate is 0", path.display());
    }
    if let Some(bad) = track
        .frames
        .iter()
        .find(|f| f.arkit.len() != track.arkit.len())
    {
        bail!(
            "{}: the frame at sample {} has {} ARKit weights for {} names",
            path.display(),
            bad.sample,
            bad.arkit.len(),
            track.arkit.len()
        );
    }
    Ok(track)
}

/// Blinks at irregular but repeatable moments, 150 ms each.
fn blink(t: f64) -> f32 {
    let mut start = 0.7;
    let mut k = 1u32;
    while start < t + 1.0 {
        let since = t - start;
        if (0.0..0.15).contains(&since) {
            // Quick to close, slower to open.
            return if since < 0.05 {
                (since / 0.05) as f32
            } else {
                (1.0 - (since - 0.05) / 0.10) as f32
            };
        }
        // A hash of k spreads the gaps over 2..6 s.
        k = k.wrapping_mul(2_654_435_761).wrapping_add(12_345);
        start += 2.0 + (k % 4000) as f64 / 1000.0;
    }
    0.0
}

pub fn run(args: RenderArgs) -> Result<()> {
    if !(1..=120).contains(&args.fps) {
        bail!("--fps {} is outside 1..120", args.fps);
    }
    let track = read_track(&args.lipsync)?;
    let seconds = match &args.audio {
        Some(wav) => {
            let (rate, samples) = twin_voice::wav::read_mono(wav)?;
            samples.len() as f64 / rate.max(1) as f64
        }
        None => {
            track
                .frames
                .last()
                .map_or(0.0, |f| f.sample as f64 / track.sample_rate as f64)
                + 0.3
        }
    };
    let bytes = std::fs::read(&args.avatar).with_context(|| {
        format!(
            "cannot read the avatar {} (cargo xtask setup builds the demo's)",
            args.avatar.display()
        )
    })?;
    let avatar = AvatarScene::new(twin_avatar::skin::load(&bytes, args.avatar.parent())?);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;

    let started = std::time::Instant::now();
    let ctx = Arc::new(GpuContext::headless()?);
    let device = ctx.device_name.clone();
    let mut renderer = Renderer::new(ctx, FORMAT, 1, ash::vk::ImageLayout::TRANSFER_SRC_OPTIMAL)?;
    let mut target = OffscreenTarget::new(&renderer, args.width, args.height)?;
    let rest = avatar.pose(&HashMap::new(), &HashMap::new());
    avatar.upload(&mut renderer, &rest, true)?;
    // Head and shoulders, as a person standing a metre away sees them.
    let (lo, hi) = AvatarScene::bounds(&rest);
    let head = Vec3::new((lo.x + hi.x) * 0.5, hi.y - 0.13, 0.0);
    let view = View::look_at(
        head + Vec3::new(0.0, 0.02, 1.0),
        head - Vec3::new(0.0, 0.06, 0.0),
        28f32.to_radians(),
        args.width as f32 / args.height as f32,
    );
    let frames = (seconds * args.fps as f64).ceil() as usize;
    let mut next = 0usize;
    for i in 0..frames {
        let t = i as f64 / args.fps as f64;
        let sample = (t * track.sample_rate as f64) as u64;
        // The last lip-sync frame at or before this moment.
        while next + 1 < track.frames.len() && track.frames[next + 1].sample <= sample {
            next += 1;
        }
        let mut weights: HashMap<String, f32> = HashMap::new();
        if let Some(f) = track.frames.get(next).filter(|f| f.sample <= sample) {
            for (name, w) in track.arkit.iter().zip(&f.arkit) {
                weights.insert(name.clone(), *w);
            }
        }
        let b = blink(t);
        weights.insert("eyeBlinkLeft".into(), b);
        weights.insert("eyeBlinkRight".into(), b);
        let posed = avatar.pose(&weights, &HashMap::new());
        avatar.upload(&mut renderer, &posed, false)?;
        let image = target.render(&mut renderer, &[view])?.remove(0);
        let frame = args.out.join(format!("frame-{:05}.png", i + 1));
        image
            .write_png(&frame)
            .with_context(|| format!("cannot write {}", frame.display()))?;
    }
    target.destroy(&renderer);
    let render_seconds = started.elapsed().as_secs_f64();

    // An MP4 with the voice, where ffmpeg is installed.
    let mut mp4 = None;
    if let Some(wav) = &args.audio
        && which("ffmpeg")
    {
        let out = args.out.join("twin.mp4");
        let status = std::process::Command::new("ffmpeg")
            .args([
                "-y",
                "-loglevel",
                "error",
                "-framerate",
                &args.fps.to_string(),
                "-i",
            ])
            .arg(args.out.join("frame-%05d.png"))
            .arg("-i")
            .arg(wav)
            .args([
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-shortest",
            ])
            .arg(&out)
            .status()
            .context("cannot run ffmpeg")?;
        if !status.success() {
            bail!("ffmpeg failed ({status})");
        }
        mp4 = Some(out);
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "out": args.out,
                "frames": frames,
                "seconds": seconds,
                "fps": args.fps,
                "device": device,
                "render_seconds": render_seconds,
                "ms_per_frame": render_seconds * 1000.0 / frames.max(1) as f64,
                "mp4": mp4,
            })
        );
    } else {
        println!(
            "rendered {frames} frames ({seconds:.1} s at {} fps, {}x{}) into {} on {device} in {render_seconds:.1} s{}",
            args.fps,
            args.width,
            args.height,
            args.out.display(),
            mp4.map(|m| format!("; {}", m.display()))
                .unwrap_or_default()
        );
    }
    Ok(())
}

fn which(tool: &str) -> bool {
    std::process::Command::new(tool)
        .arg("-version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
