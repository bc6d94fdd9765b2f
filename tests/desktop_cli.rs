//! `twin desktop` as a user runs it, on a virtual X display (Xvfb): the window shows the twin, and the reply
//! plays through kira on a real audio clock (ALSA's null device stands in for a sound card). With a server,
//! a spoken question (a WAV) is heard and answered aloud in the window, the mouth on the speaker's clock (a
//! virtual speaker: ALSA's null sink takes a cpal stream at the voice's rate faster than real time).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

mod common;
use common::{models, root, screenshot, write_png, xvfb};

#[test]
fn the_window_shows_the_twin_speaking_with_kira_on_the_audio_clock() {
    let x = xvfb();
    let dir = tempfile::tempdir().unwrap();
    // A home whose ALSA default device is the null sink: real playback, no sound card.
    std::fs::write(
        dir.path().join(".asoundrc"),
        "pcm.!default {\n  type null\n}\n",
    )
    .unwrap();
    let (wav, track) = (dir.path().join("a.wav"), dir.path().join("a.json"));
    let say = Command::new(env!("CARGO_BIN_EXE_twin"))
        .args([
            "say",
            "Thanks for coming in. Let me tell you where we stand.",
            "--out",
        ])
        .arg(&wav)
        .arg("--lipsync")
        .arg(&track)
        .env("TWIN_MODELS_DIR", models())
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        say.status.success(),
        "{}",
        String::from_utf8_lossy(&say.stderr)
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_twin"))
        .args([
            "desktop", "--frames", "90", "--width", "480", "--height", "640", "--json", "--audio",
        ])
        .arg(&wav)
        .arg("--lipsync")
        .arg(&track)
        .arg("--avatar")
        .arg(models().join("avatars/owen-marsh.glb"))
        .env("DISPLAY", format!(":{}", x.1))
        .env("HOME", dir.path())
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(
        &lines
            .next()
            .expect("a line once frames are on screen")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["event"], "on_screen");
    let (w, h, pixels) = screenshot(x.1);
    write_png(&root().join("target/desktop/screenshot.png"), w, h, &pixels);
    let done: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{err}");
    assert_eq!(done["frames"], 90);
    assert_eq!(done["audio"], "kira", "{err}");
    assert!(
        done["played_seconds"].as_f64().unwrap() > 0.5,
        "the reply played: {done}"
    );

    // The twin is in the window (top left, no window manager): skin-toned pixels in its face region, the
    // grey backdrop around it, and nothing drawn outside the window.
    let at = |x: u32, y: u32| pixels[(y * w + x) as usize];
    let skin = |p: [u8; 3]| p[0] > 120 && p[0] > p[1] && p[1] > p[2] && p[0] - p[2] > 40;
    let face: usize = (100..300)
        .flat_map(|y| (140..340).map(move |x| (x, y)))
        .filter(|(x, y)| skin(at(*x, *y)))
        .count();
    assert!(face > 8000, "{face} skin pixels in the face region");
    let outside: usize = (0..1000)
        .flat_map(|y| (600..800).map(move |x| (x, y)))
        .filter(|(x, y)| at(*x, *y) != [0, 0, 0])
        .count();
    assert_eq!(outside, 0, "nothing outside the 480x640 window");
}

#[test]
fn without_a_display_it_says_so() {
    let out = Command::new(env!("CARGO_BIN_EXE_twin"))
        .args(["desktop", "--frames", "1"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .current_dir(root())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("DISPLAY"), "{err}");
}

#[test]
fn a_spoken_question_is_answered_in_the_window() {
    const TOKEN: &str = "desktop-token";
    let url = common::start_server(TOKEN, 32);
    let x = xvfb();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("question.wav");
    let question = "What is the plan for the warehouse robots next year?";
    common::spoken_wav(&wav, question);
    let out = Command::new(env!("CARGO_BIN_EXE_twin"))
        .args([
            "desktop",
            "--json",
            "--width",
            "360",
            "--height",
            "480",
            "--no-speaker",
        ])
        .args(["--token", TOKEN, "--url", &url, "--input"])
        .arg(&wav)
        .arg("--avatar")
        .arg(models().join("avatars/owen-marsh.glb"))
        .env("TWIN_MODELS_DIR", models())
        .env("DISPLAY", format!(":{}", x.1))
        .current_dir(root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done: serde_json::Value = serde_json::from_str(
        stdout
            .lines()
            .rfind(|l| l.contains("\"done\""))
            .unwrap_or_else(|| panic!("no summary in {stdout}")),
    )
    .unwrap();
    let d = &done["dialogue"];
    let turns = d["turns"].as_array().expect("the user's turns");
    assert_eq!(turns.len(), 1, "{done}");
    assert!(
        twin_testkit::score::word_error_rate(question, turns[0].as_str().unwrap()) <= 0.35,
        "{done}"
    );
    assert_eq!(d["replies"].as_array().unwrap().len(), 2, "{done}");
    let speaking = d["speaking_frames"].as_u64().unwrap();
    assert!(speaking > 30, "{done}");
    assert!(
        d["mouth_moving_frames"].as_u64().unwrap() * 2 > speaking,
        "{done}"
    );
}
