//! `twin render` and `twin avatar` as a user runs them: the demo avatar (built by setup) speaking a line, drawn
//! by the real Vulkan renderer (lavapipe without a GPU).

use std::process::Command;

mod common;
use common::{models, run_json as json, twin};

#[test]
fn renders_the_twin_saying_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let (wav, track, frames) = (
        dir.path().join("a.wav"),
        dir.path().join("a.json"),
        dir.path().join("f"),
    );
    json(
        twin()
            .args([
                "say",
                "Open wide: papa bought a map.",
                "--voice",
                "espeak:en-us",
                "--out",
            ])
            .arg(&wav)
            .arg("--lipsync")
            .arg(&track),
    );
    let avatar = models().join("avatars/owen-marsh.glb");
    let r = json(
        twin()
            .args([
                "render", "--fps", "10", "--width", "96", "--height", "128", "--avatar",
            ])
            .arg(&avatar)
            .arg("--lipsync")
            .arg(&track)
            .arg("--audio")
            .arg(&wav)
            .arg("--out")
            .arg(&frames),
    );
    let n = r["frames"].as_u64().unwrap();
    let seconds = r["seconds"].as_f64().unwrap();
    assert_eq!(n, (seconds * 10.0).ceil() as u64);
    let pngs: Vec<Vec<u8>> = (1..=n)
        .map(|i| std::fs::read(frames.join(format!("frame-{i:05}.png"))).unwrap())
        .collect();
    // The lips move: frames differ while the twin speaks.
    let distinct: std::collections::HashSet<&Vec<u8>> = pngs.iter().collect();
    assert!(
        distinct.len() > n as usize / 3,
        "{} distinct of {n}",
        distinct.len()
    );

    // ffmpeg is installed by setup: the MP4 has the frames and the voice, as long as the reply.
    let mp4 = r["mp4"].as_str().expect("an MP4 where ffmpeg is installed");
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,codec_name:format=duration",
            "-of",
            "json",
            mp4,
        ])
        .output()
        .unwrap();
    assert!(probe.status.success());
    let info: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap();
    let streams: Vec<(String, String)> = info["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["codec_type"].as_str().unwrap_or("").to_string(),
                s["codec_name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        streams.contains(&("video".into(), "h264".into())),
        "{streams:?}"
    );
    assert!(
        streams.contains(&("audio".into(), "aac".into())),
        "{streams:?}"
    );
    let duration: f64 = info["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (duration - seconds).abs() < 0.25,
        "{duration} s for {seconds} s of reply"
    );
}

#[test]
fn bad_render_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"not\": \"a track\"}").unwrap();
    let out = twin()
        .args(["render", "--lipsync"])
        .arg(&junk)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a lip-sync track"), "{err}");
    let out = twin()
        .args(["render", "--fps", "0", "--lipsync"])
        .arg(&junk)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fps 0"));
}

#[test]
fn avatar_check_reports_the_demo_avatar_and_refuses_junk() {
    let avatar = models().join("avatars/owen-marsh.glb");
    let r = json(twin().args(["avatar", "check"]).arg(&avatar));
    assert_eq!(r["arkit_found"], 51);
    assert_eq!(r["life_size"], true);
    assert_eq!(r["problems"].as_array().map(Vec::len), Some(0));
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.glb");
    std::fs::write(&junk, b"glTF\x02\0\0\0\xff\xff\0\0").unwrap();
    let out = twin()
        .args(["avatar", "check"])
        .arg(&junk)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a glTF"), "{err}");
}

/// `twin avatar from-photos` on a throwaway copy of the demo pack and astronaut.png (public domain, only
/// ever scored): the figures as JSON, the avatar checked as wearing the texture; no consent, no likeness.
#[test]
fn avatar_from_photos_writes_a_likeness_only_with_consent() {
    let dir = tempfile::tempdir().unwrap();
    let persona =
        std::fs::read_to_string(common::root().join("assets/personas/owen-marsh/persona.toml"))
            .unwrap();
    std::fs::write(dir.path().join("persona.toml"), &persona).unwrap();
    let photo = models().join("photo-astronaut/astronaut.png");
    let out = dir.path().join("likeness.glb");
    let refused = twin()
        .args(["avatar", "from-photos"])
        .arg(&photo)
        .arg("--persona")
        .arg(dir.path())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("[likeness] consent"));
    assert!(!out.exists());

    std::fs::write(
        dir.path().join("persona.toml"),
        format!("{persona}\n[likeness]\nconsent = \"test: a public-domain photo, scored and thrown away\"\n"),
    )
    .unwrap();
    let r = json(
        twin()
            .args(["avatar", "from-photos"])
            .arg(&photo)
            .arg("--persona")
            .arg(dir.path())
            .arg("--out")
            .arg(&out),
    );
    assert!(
        r["photos"][0]["landmark_error"].as_f64().unwrap() < 0.04,
        "{r}"
    );
    assert!(
        r["texture"]["face_coverage"].as_f64().unwrap() >= 0.75,
        "{r}"
    );
    let check = json(twin().args(["avatar", "check"]).arg(&out));
    assert_eq!(check["textured_materials"][0], "skin", "{check}");
}
