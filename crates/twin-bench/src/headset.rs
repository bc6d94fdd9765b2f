//! The headset app on Monado (null compositor, simulated headset, lavapipe): the app's own CPU time per XR
//! frame, frames that alone would miss a 90 Hz display, and launch to the first frame drawn.

use crate::percentile;
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::Path;

pub fn section(md: &mut String, models: &Path, twin: &Path, monado_json: &Path) -> Result<()> {
    eprintln!("headset on Monado…");
    let (mut p50, mut p95, mut first, mut over, mut frames) =
        (Vec::new(), Vec::new(), Vec::new(), 0, 0);
    let mut runtime = String::new();
    let mut null_hz = 0.0;
    for _ in 0..3 {
        let out = std::process::Command::new(twin)
            .args(["headset", "--frames", "120", "--json", "--avatar"])
            .arg(models.join("avatars/owen-marsh.glb"))
            .env("XR_RUNTIME_JSON", monado_json)
            .env("XRT_COMPOSITOR_NULL", "1")
            .env("SIMULATED_ENABLE", "1")
            .env(
                "VK_ICD_FILENAMES",
                "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json",
            )
            .output()?;
        let r = report(&out, "twin headset")?;
        p50.push(r["frame_cpu_ms_p50"].as_f64().unwrap_or(f64::NAN));
        p95.push(r["frame_cpu_ms_p95"].as_f64().unwrap_or(f64::NAN));
        first.push(r["first_frame_ms"].as_f64().unwrap_or(f64::NAN));
        over += r["over_90hz_budget"].as_u64().unwrap_or(0);
        frames += r["frames"].as_u64().unwrap_or(0);
        runtime = r["runtime"].as_str().unwrap_or_default().to_string();
        null_hz = r["display_hz"].as_f64().unwrap_or(0.0);
    }
    writeln!(
        md,
        "## Headset app on Monado\n\n\
         `twin headset --frames 120` three times on {runtime} (in-process, null compositor, simulated headset) with lavapipe: \
         per frame the app animates the twin (CPU skinning), uploads it and records both eyes in one multiview pass; the GPU work is lavapipe's, on the same 2 cores, \
         and Monado's null compositor paces frames at {null_hz:.0} Hz, so these are the app's own costs, not a headset's frame rate.\n\n\
         | figure | value |\n|---|---|\n\
         | app CPU per XR frame, p50 (median of runs) | {:.2} ms |\n\
         | app CPU per XR frame, p95 (median of runs) | {:.2} ms |\n\
         | frames whose own CPU time would miss 90 Hz (11.1 ms) | {over} of {frames} |\n\
         | launch → first frame drawn, p50 | {:.0} ms |\n",
        percentile(&p50, 50.0),
        percentile(&p95, 50.0),
        percentile(&first, 50.0),
    )?;
    paced_at_90(md, models, twin, monado_json)
}

/// Monado's own compositor asked for 90 Hz, in an X window on a virtual display: the rate it holds and the
/// refreshes that went by without a new frame from the app.
fn paced_at_90(md: &mut String, models: &Path, twin: &Path, monado_json: &Path) -> Result<()> {
    eprintln!("headset on Monado's window compositor at 90 Hz…");
    let display = 91;
    let mut xvfb = match std::process::Command::new("Xvfb")
        .args([
            format!(":{display}").as_str(),
            "-screen",
            "0",
            "1280x1024x24",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(x) => x,
        Err(e) => {
            writeln!(md, "\nNot measured at 90 Hz: no Xvfb ({e}).")?;
            return Ok(());
        }
    };
    std::thread::sleep(std::time::Duration::from_secs(1));
    let out = std::process::Command::new(twin)
        .args([
            "headset",
            "--frames",
            "360",
            "--json",
            "--no-keep-place",
            "--avatar",
        ])
        .arg(models.join("avatars/owen-marsh.glb"))
        .env("XR_RUNTIME_JSON", monado_json)
        .env("XRT_COMPOSITOR_FORCE_XCB", "1")
        .env("XRT_COMPOSITOR_DEFAULT_FRAMERATE", "90")
        .env("DISPLAY", format!(":{display}"))
        .env("SIMULATED_ENABLE", "1")
        .env(
            "VK_ICD_FILENAMES",
            "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json",
        )
        .output();
    let _ = xvfb.kill();
    let _ = xvfb.wait();
    let r = report(&out?, "twin headset (window compositor)")?;
    let frames = r["frames"].as_u64().unwrap_or(0);
    let missed = r["missed_refreshes"].as_u64().unwrap_or(0);
    writeln!(
        md,
        "\nThe same app under Monado's own compositor asked for 90 Hz (`XRT_COMPOSITOR_FORCE_XCB=1`, \
         `XRT_COMPOSITOR_DEFAULT_FRAMERATE=90`, an X window on Xvfb), 360 frames. The compositor's own work \
         (distortion, the window) runs on lavapipe on the same 2 cores: the rate it holds here is the CPU \
         renderer's, not the app's, whose own time stays about a millisecond.\n\n\
         | figure | value |\n|---|---|\n\
         | display rate the runtime paced at | {:.1} Hz |\n\
         | frames drawn a second | {:.1} |\n\
         | refreshes missed (no new frame) | {missed} over {frames} frames |\n\
         | app CPU per frame, p50 / p95 | {:.2} / {:.2} ms |\n",
        r["display_hz"].as_f64().unwrap_or(0.0),
        r["frames_per_s"].as_f64().unwrap_or(0.0),
        r["frame_cpu_ms_p50"].as_f64().unwrap_or(f64::NAN),
        r["frame_cpu_ms_p95"].as_f64().unwrap_or(f64::NAN),
    )?;
    Ok(())
}

/// The report `twin headset --json` printed last, once it exited well.
fn report(out: &std::process::Output, what: &str) -> Result<serde_json::Value> {
    anyhow::ensure!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rfind(|l| l.contains("\"states\""))
        .with_context(|| format!("no report from {what}"))?;
    Ok(serde_json::from_str(line)?)
}
