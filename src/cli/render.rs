//! `twin render`: the twin speaking a reply, rendered offscreen to PNG frames (and an MP4 with the audio when
//! ffmpeg is installed). The mouth follows the lip-sync track on the audio's sample clock; the twin looks at
//! the camera, blinks, breathes and moves its head as it speaks (twin-animate).

use anyhow::{Context, Result, bail};
use clap::Args;
use glam::Vec3;
use std::path::PathBuf;
use std::sync::Arc;
use twin_animate::{Animator, Inputs, Mode, Speech};
use twin_render::offscreen::{FORMAT, OffscreenTarget};
use twin_render::{GpuContext, Renderer, View};
use twin_scene::AvatarScene;

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
    /// Seed of the twin's blinks and glances (the same seed renders the same frames).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object with the figures instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Where a person a metre in front of the twin sees its head and shoulders from, and the view from there.
pub fn portrait(avatar: &AvatarScene, aspect: f32) -> (Vec3, View) {
    let head = avatar.face_centre();
    let eye = head + Vec3::new(0.0, 0.02, 1.0);
    let view = View::look_at(
        eye,
        head - Vec3::new(0.0, 0.06, 0.0),
        28f32.to_radians(),
        aspect,
    );
    (eye, view)
}

pub fn run(args: RenderArgs) -> Result<()> {
    if !(1..=120).contains(&args.fps) {
        bail!("--fps {} is outside 1..120", args.fps);
    }
    if !(16..=8192).contains(&args.width) || !(16..=8192).contains(&args.height) {
        bail!("--width and --height must be within 16..8192");
    }
    let track = crate::cli::track::read(&args.lipsync)?;
    let seconds = match &args.audio {
        Some(wav) => {
            let (rate, samples) = twin_voice::wav::read_mono(wav)?;
            samples.len() as f64 / rate.max(1) as f64
        }
        None => track.duration() + 0.3,
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let started = std::time::Instant::now();
    let rendered = render_frames(&args, &track, seconds)?;
    let render_seconds = started.elapsed().as_secs_f64();
    let mp4 = match &args.audio {
        Some(wav) if which("ffmpeg") => Some(encode_mp4(&args, wav)?),
        _ => None,
    };
    let frames = rendered.frames;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "out": args.out,
                "frames": frames,
                "seconds": seconds,
                "fps": args.fps,
                "device": rendered.device,
                "render_seconds": render_seconds,
                "ms_per_frame": render_seconds * 1000.0 / frames.max(1) as f64,
                "animation_ms_per_frame": rendered.animation.as_secs_f64() * 1000.0 / frames.max(1) as f64,
                "mp4": mp4,
            })
        );
    } else {
        println!(
            "rendered {frames} frames ({seconds:.1} s at {} fps, {}x{}) into {} on {} in {render_seconds:.1} s{}",
            args.fps,
            args.width,
            args.height,
            args.out.display(),
            rendered.device,
            mp4.map(|m| format!("; {}", m.display()))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// What drawing the frames took.
struct Rendered {
    frames: usize,
    device: String,
    /// Time spent posing the twin (the rest is drawing and writing PNGs).
    animation: std::time::Duration,
}

/// Every frame of `seconds` of the twin saying `track`, drawn offscreen and written as PNGs.
fn render_frames(
    args: &RenderArgs,
    track: &twin_animate::MouthTrack,
    seconds: f64,
) -> Result<Rendered> {
    let mut avatar = twin::avatar::load_scene(&args.avatar)?;
    let ctx = Arc::new(GpuContext::headless()?);
    let device = ctx.device_name.clone();
    let mut renderer = Renderer::new(ctx, FORMAT, 1, ash::vk::ImageLayout::TRANSFER_SRC_OPTIMAL)?;
    let mut target = OffscreenTarget::new(&renderer, args.width, args.height)?;
    avatar.attach(&mut renderer)?;
    let (camera, view) = portrait(&avatar, args.width as f32 / args.height as f32);
    let dt = 1.0 / args.fps as f32;
    let mut animator = Animator::new(&avatar.rig, args.seed);
    // The file's own idle loop, where it has one, plays underneath.
    animator.set_clip(twin_animate::Clip::idle(&avatar.loaded)?);
    // A second of listening first: the first frame already meets the camera's eyes.
    for _ in 0..args.fps {
        let listening = Inputs {
            mode: Mode::Listening,
            look_at: Some(camera),
            speech: None,
        };
        animator.update(&avatar.rig, dt, &listening);
    }
    let frames = (seconds * args.fps as f64).ceil() as usize;
    let mut animation = std::time::Duration::ZERO;
    for i in 0..frames {
        let t = i as f64 / args.fps as f64;
        let input = Inputs {
            mode: if t <= track.duration() + 0.1 {
                Mode::Speaking
            } else {
                Mode::Listening
            },
            look_at: Some(camera),
            speech: Some(Speech { track, seconds: t }),
        };
        let animating = std::time::Instant::now();
        let pose = animator.update(&avatar.rig, dt, &input);
        avatar.apply(pose);
        animation += animating.elapsed();
        avatar.upload(&mut renderer)?;
        let image = target.render(&mut renderer, &[view])?.remove(0);
        let frame = args.out.join(format!("frame-{:05}.png", i + 1));
        image
            .write_png(&frame)
            .with_context(|| format!("cannot write {}", frame.display()))?;
    }
    target.destroy(&renderer);
    Ok(Rendered {
        frames,
        device,
        animation,
    })
}

/// The frames and the voice as an H.264/AAC MP4 (`twin.mp4` beside them), through ffmpeg.
fn encode_mp4(args: &RenderArgs, wav: &std::path::Path) -> Result<PathBuf> {
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
            // H.264 in 4:2:0 needs even sizes.
            "-vf",
            "pad=ceil(iw/2)*2:ceil(ih/2)*2",
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
    Ok(out)
}

fn which(tool: &str) -> bool {
    std::process::Command::new(tool)
        .arg("-version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
