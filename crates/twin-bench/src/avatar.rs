//! The avatar's figures: animation CPU time per frame (one core and all), a stereo frame on the Vulkan device,
//! and the time from launching `twin render` to its first frame on disk.

use crate::percentile;
use anyhow::{Context, Result};
use glam::Vec3;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use twin_animate::{Animator, Deformer, Inputs, Mode, MouthTrack, Rig, Skinning, Speech};
use twin_render::offscreen::{FORMAT, OffscreenTarget};
use twin_render::{GpuContext, Renderer, View};
use twin_scene::AvatarScene;
use twin_voice::Synthesizer;

const SPEECH: &str = "Honestly, the biggest risk we carry this year is shipping late. \
    So we cut the scope, we kept the quality bar, and we told our customers exactly why.";

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn row(name: &str, values: &[f64], unit: &str) -> String {
    format!(
        "| {name} | {:.3} {unit} | {:.3} {unit} | {:.3} {unit} | {} |",
        percentile(values, 50.0),
        percentile(values, 95.0),
        values.iter().copied().fold(f64::MIN, f64::max),
        values.len()
    )
}

/// The demo persona's voice saying [`SPEECH`], as a lip-sync track.
fn speech_track(models: &Path) -> Result<MouthTrack> {
    let voice = twin_voice::PiperVoice::load(&models.join("piper-en_US-joe-medium"), 1.0, 1)?;
    let mut audio = Vec::new();
    voice.synthesize(&twin_voice::text::prepare(SPEECH)?, &mut |piece| {
        audio.extend_from_slice(piece);
        true
    })?;
    let frames = twin_lipsync::analyze(&audio, voice.sample_rate())
        .into_iter()
        .map(|f| (f.sample, f.visemes))
        .collect();
    Ok(MouthTrack::new(voice.sample_rate(), frames)?)
}

/// Animator and deformer per frame at 90 Hz while speaking, on a pool of `threads`.
fn animate(
    rig: &Rig,
    track: &MouthTrack,
    threads: usize,
    frames: usize,
    skinning: Skinning,
) -> Result<[Vec<f64>; 3]> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    Ok(pool.install(|| {
        let mut animator = Animator::new(rig, 1);
        let mut deformer = Deformer::with_skinning(rig, skinning);
        let viewer = animator.default_look_at();
        let dt = 1.0 / 90.0;
        let (mut total, mut behaviour, mut deform) = (Vec::new(), Vec::new(), Vec::new());
        for k in 0..frames + 90 {
            let seconds = (k as f64 * dt as f64) % (track.duration() + 0.5);
            let input = Inputs {
                mode: Mode::Speaking,
                // The viewer sways a little, as a head does.
                look_at: Some(viewer + Vec3::new(0.05 * (k as f32 * 0.02).sin(), 0.0, 0.0)),
                speech: Some(Speech { track, seconds }),
            };
            let started = Instant::now();
            let pose = animator.update(rig, dt, &input);
            let posed = Instant::now();
            deformer.apply(rig, pose);
            let done = Instant::now();
            // The first second warms caches and settles the gaze.
            if k >= 90 {
                behaviour.push(ms(posed - started));
                deform.push(ms(done - posed));
                total.push(ms(done - started));
            }
        }
        [total, behaviour, deform]
    }))
}

/// The avatar's sections: animation, the stereo frame, and (with the `twin` binary) launch to first frame.
pub fn section(md: &mut String, models: &Path, twin_bin: Option<&Path>) -> Result<()> {
    let glb = models.join("avatars/owen-marsh.glb");
    let bytes = std::fs::read(&glb).with_context(|| format!("{}", glb.display()))?;
    let loaded = twin_avatar::skin::load(&bytes, None)?;
    let rig = Rig::new(&loaded)?;
    let track = speech_track(models)?;
    eprintln!("avatar: animation…");
    let animation = measure_animation(&rig, &track)?;
    write_animation(md, &rig, &track, &animation)?;
    eprintln!("avatar: stereo frames…");
    let stereo = measure_stereo(&bytes, &track)?;
    write_stereo(md, &stereo)?;
    if let Some(twin) = twin_bin {
        eprintln!("avatar: launch to first frame…");
        let launch = launch_times(twin, models, &glb)?;
        writeln!(
            md,
            "## Launch to first frame\n\n\
             From starting `twin render` (480×640, the demo avatar) to its first frame written as PNG: process start, Vulkan device, avatar file decoded into the rig, a second of animation to settle the gaze, the first frame drawn and encoded.\n\n\
             | figure | p50 | p95 | max | n |\n|---|---|---|---|---|\n{}\n",
            row("process start → first frame on disk", &launch, "ms"),
        )?;
    }
    Ok(())
}

/// Animation's CPU time per frame (ms): whole, the animator's and the deformer's share, on one core, on all,
/// and with skinning left to the GPU.
struct Animation {
    one: Vec<f64>,
    behaviour: Vec<f64>,
    deform: Vec<f64>,
    all: Vec<f64>,
    gpu_one: Vec<f64>,
    gpu_morphs: Vec<f64>,
}

fn measure_animation(rig: &Rig, track: &MouthTrack) -> Result<Animation> {
    let [one, behaviour, deform] = animate(rig, track, 1, 900, Skinning::Cpu)?;
    let [all, _, _] = animate(
        rig,
        track,
        rayon::current_num_threads().max(1),
        900,
        Skinning::Cpu,
    )?;
    let [gpu_one, _, gpu_morphs] = animate(rig, track, 1, 900, Skinning::Gpu)?;
    Ok(Animation {
        one,
        behaviour,
        deform,
        all,
        gpu_one,
        gpu_morphs,
    })
}

fn write_animation(md: &mut String, rig: &Rig, track: &MouthTrack, a: &Animation) -> Result<()> {
    let Animation {
        one,
        behaviour,
        deform,
        all,
        gpu_one,
        gpu_morphs,
    } = a;
    let blended: usize = rig
        .primitives
        .iter()
        .filter(|p| matches!(p.binding, twin_animate::rig::Binding::Blended { .. }))
        .map(|p| p.positions.len())
        .sum();
    let p50 = percentile(one, 50.0);
    let p95 = percentile(one, 95.0);
    writeln!(
        md,
        "## Avatar animation (the demo avatar speaking, 90 Hz)\n\n\
         {} vertices in {} primitives, {} morph targets, {} of the vertices skinned per vertex (the rest move whole by a model matrix); \
         a {:.1} s reply by the Piper voice, its lip-sync from the audio. Per frame: the animator (mouth on the playback clock, blinks, gaze, breathing, head motion) and the deformer (morphs, skinning).\n\n\
         | figure | p50 | p95 | max | n |\n|---|---|---|---|---|\n{}\n{}\n{}\n{}\n{}\n{}\n",
        rig.vertex_count(),
        rig.primitives.len(),
        rig.target_names.len(),
        blended,
        track.duration(),
        row("animation per frame, one core", one, "ms"),
        row("… of which the animator", behaviour, "ms"),
        row("… of which morphs and skinning", deform, "ms"),
        row(
            &format!(
                "animation per frame, {} threads",
                rayon::current_num_threads()
            ),
            all,
            "ms"
        ),
        row(
            "animation per frame, one core, skinning left to the GPU",
            gpu_one,
            "ms"
        ),
        row("… of which morphs", gpu_morphs, "ms"),
    )?;
    writeln!(
        md,
        "Target: at most 1.0 ms per frame on one core: **{}** (p50 {p50:.3} ms, p95 {p95:.3} ms). \
         With skinning in the vertex shader instead, the CPU's share is the animator and the sparse morphs (p50 {:.3} ms); the frame times below compare the two paths on the device.\n",
        if p50 <= 1.0 { "met" } else { "not met" },
        percentile(gpu_one, 50.0),
    )?;
    Ok(())
}

/// The stereo frame's table rows, each path's whole frame p50 (CPU skinning, then vertex shader), and the
/// draw's p50 with the avatar's textures and without.
struct Stereo {
    device: String,
    rows: Vec<String>,
    whole: Vec<f64>,
    textured: f64,
    bare: f64,
}

fn measure_stereo(bytes: &[u8], track: &MouthTrack) -> Result<Stereo> {
    let ctx = Arc::new(GpuContext::headless()?);
    let device = ctx.device_name.clone();
    let mut rows = Vec::new();
    let mut whole = Vec::new();
    let mut rows_draw_cpu = Vec::new();
    for (skinning, name) in [(Skinning::Cpu, "CPU"), (Skinning::Gpu, "vertex shader")] {
        let (draw, frame) = stereo_frames(&ctx, bytes, track, skinning, true)?;
        if skinning == Skinning::Cpu {
            rows_draw_cpu = draw.clone();
        }
        rows.push(row(
            &format!("draw and wait, skinning on the {name}"),
            &draw,
            "ms",
        ));
        rows.push(row(
            &format!("whole frame (animate, upload, draw), skinning on the {name}"),
            &frame,
            "ms",
        ));
        whole.push(percentile(&frame, 50.0));
    }
    // What the face's texture costs: the same frames with the avatar's textures left off.
    let (bare_draw, _) = stereo_frames(&ctx, bytes, track, Skinning::Cpu, false)?;
    let textured = percentile(&rows_draw_cpu, 50.0);
    let bare = percentile(&bare_draw, 50.0);
    rows.push(row(
        "draw and wait, skinning on the CPU, the avatar's textures left off",
        &bare_draw,
        "ms",
    ));
    Ok(Stereo {
        device,
        rows,
        whole,
        textured,
        bare,
    })
}

fn write_stereo(md: &mut String, stereo: &Stereo) -> Result<()> {
    let Stereo {
        device,
        rows,
        whole,
        textured,
        bare,
    } = stereo;
    let faster = if whole[1] < whole[0] {
        "vertex shader"
    } else {
        "CPU"
    };
    writeln!(
        md,
        "## Stereo frame on the Vulkan device\n\n\
         Two 1024×1024 views in one multiview pass (90° field of view, the twin 1.2 m away), on {device}: a relative figure for regressions, not a headset's. \
         On lavapipe the \"GPU\" is these same two cores, so skinning in the vertex shader is CPU work too, done once per view.\n\n\
         | figure | p50 | p95 | max | n |\n|---|---|---|---|---|\n{}\n\n\
         Faster whole frame here: skinning on the **{faster}** ({:.1} ms CPU skinning, {:.1} ms vertex-shader skinning, p50). \
         The avatar's textures (the face's colour and roughness, the hair's strands; {textured:.1} ms against {bare:.1} ms without them, p50) cost {} of the draw: \
         target, the textured twin does not double the stereo frame: **{}**.\n",
        rows.join("\n"),
        whole[0],
        whole[1],
        match 100.0 * (textured / bare - 1.0) {
            share if share.abs() < 1.0 => "nothing measurable".to_string(),
            share => format!("{share:+.0}%"),
        },
        if *textured < 2.0 * bare {
            "met"
        } else {
            "not met"
        },
    )?;

    Ok(())
}

/// Five launches of `twin render` on the demo avatar: ms from process start to its first frame on disk.
fn launch_times(twin: &Path, models: &Path, glb: &Path) -> Result<Vec<f64>> {
    let dir = tempfile::tempdir()?;
    let (wav, json) = (dir.path().join("hello.wav"), dir.path().join("hello.json"));
    let status = std::process::Command::new(twin)
        .args(["say", "Hello there.", "--out"])
        .arg(&wav)
        .arg("--lipsync")
        .arg(&json)
        .env("TWIN_MODELS_DIR", models)
        .stdout(std::process::Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "twin say failed");
    let mut launch = Vec::new();
    for run in 0..5 {
        let out = dir.path().join(format!("frames-{run}"));
        let first = out.join("frame-00001.png");
        let started = Instant::now();
        let mut child = std::process::Command::new(twin)
            .args([
                "render", "--fps", "5", "--width", "480", "--height", "640", "--avatar",
            ])
            .arg(glb)
            .arg("--lipsync")
            .arg(&json)
            .arg("--audio")
            .arg(&wav)
            .arg("--out")
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .spawn()?;
        while !first.exists() {
            if let Some(status) = child.try_wait()? {
                anyhow::bail!("twin render ended ({status}) before its first frame");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        launch.push(ms(started.elapsed()));
        child.wait()?;
    }
    Ok(launch)
}

/// Draw time and whole-frame time of stereo 1024² frames of the twin speaking.
fn stereo_frames(
    ctx: &Arc<GpuContext>,
    glb: &[u8],
    track: &MouthTrack,
    skinning: Skinning,
    textured: bool,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let mut renderer = Renderer::new(
        ctx.clone(),
        FORMAT,
        2,
        ash::vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
    )?;
    let mut target = OffscreenTarget::new(&renderer, 1024, 1024)?;
    let mut scene = AvatarScene::with_skinning(twin_avatar::skin::load(glb, None)?, skinning)?;
    if !textured {
        scene = scene.without_textures();
    }
    scene.attach(&mut renderer)?;
    let mut animator = Animator::new(&scene.rig, 1);
    let viewer = animator.default_look_at();
    let views: Vec<View> = [-0.032f32, 0.032]
        .iter()
        .map(|dx| {
            let eye = viewer + Vec3::new(*dx, 0.0, 0.0);
            View::look_at(eye, eye - Vec3::new(0.0, 0.3, 1.2), 90f32.to_radians(), 1.0)
        })
        .collect();
    let (mut draw, mut frame) = (Vec::new(), Vec::new());
    for k in 0..70 {
        let started = Instant::now();
        let input = Inputs {
            mode: Mode::Speaking,
            look_at: Some(viewer),
            speech: Some(Speech {
                track,
                seconds: k as f64 / 90.0,
            }),
        };
        let pose = animator.update(&scene.rig, 1.0 / 90.0, &input);
        scene.apply(pose);
        scene.upload(&mut renderer)?;
        let drawing = Instant::now();
        target.draw(&mut renderer, &views)?;
        if k >= 10 {
            draw.push(ms(drawing.elapsed()));
            frame.push(ms(started.elapsed()));
        }
    }
    target.destroy(&renderer);
    Ok((draw, frame))
}
