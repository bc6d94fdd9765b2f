//! `twin headset` against a real OpenXR runtime: Monado (built by `cargo xtask setup --with-test-tools`;
//! TWIN_MONADO_JSON), in-process, with its simulated headset on lavapipe. Headless with the null compositor:
//! the whole session lifecycle, frames, the twin placed life-size in front of the user, and no errors from
//! Vulkan's validation layer. Under Xvfb with
//! Monado's own window: a screenshot shows the twin in both eyes (saved as target/headset/screenshot.png).
//! The full loop: a spoken question (a WAV) heard in the headset session, sent to a real twin-server, and
//! answered aloud (a virtual speaker: no sound card here) with the twin's mouth moving on its playback clock.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

mod common;
use common::{root, screenshot, twin, write_png, xvfb};

fn headset() -> Command {
    let json = std::env::var("TWIN_MONADO_JSON").expect(
        "TWIN_MONADO_JSON is not set: run through `cargo xtask test`, which builds Monado and sets it",
    );
    let mut c = twin();
    c.arg("headset")
        .env("XR_RUNTIME_JSON", json)
        .env("SIMULATED_ENABLE", "1")
        // Monado's late-frame warnings on a loaded CPU would bury the app's own log.
        .env("XRT_LOG", "error")
        .env(
            "VK_ICD_FILENAMES",
            "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json",
        );
    c
}

/// Runs `twin headset` to its end, which must succeed (else its output is shown), and returns its report.
/// Ten minutes at most: a session that never ends fails here with its log, not at CI's time limit.
fn run_report(c: &mut Command) -> serde_json::Value {
    let out = common::output_within(c, std::time::Duration::from_secs(600));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report(&stdout)
}

fn report(stdout: &str) -> serde_json::Value {
    let line = stdout
        .lines()
        .rfind(|l| l.contains("\"states\""))
        .unwrap_or_else(|| panic!("no report in {stdout}"));
    serde_json::from_str(line).unwrap()
}

#[test]
fn the_headset_app_runs_a_session_with_the_twin_life_size_in_front() {
    let r = run_report(
        headset()
            .args(["--frames", "60", "--json", "--no-keep-place"])
            .env("XRT_COMPOSITOR_NULL", "1"),
    );
    let states: Vec<&str> = r["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for want in [
        "READY",
        "SYNCHRONIZED",
        "VISIBLE",
        "FOCUSED",
        "STOPPING",
        "EXITING",
    ] {
        assert!(states.contains(&want), "{want} never reached: {states:?}");
    }
    assert_eq!(r["frames"], 60, "{r}");
    // Monado's simulated headset shows no room: the neutral one.
    assert_eq!(r["backdrop"], "a neutral room (no passthrough)", "{r}");
    // The hands' actions (trigger, squeeze or pinch to move the twin) were taken by the runtime.
    assert_eq!(r["hands"], true, "{r}");
    // So were the buttons that flag the last reply and share the conversation (A/X and B/Y on Touch and
    // Index, menu on the simple controller).
    assert_eq!(r["review_buttons"], true, "{r}");
    assert_eq!(r["space"], "stage", "{r}");
    let placed = r["placed_at_m"].as_f64().expect("the twin was placed");
    assert!((placed - 1.2).abs() < 0.01, "{r}");
    let height = r["twin_height_m"].as_f64().unwrap();
    assert!((1.6..2.0).contains(&height), "life-size: {r}");
}

#[test]
fn monados_window_shows_the_twin_in_both_eyes() {
    let x = xvfb();
    let mut child = headset()
        .args(["--frames", "150", "--json", "--no-keep-place"])
        .env("DISPLAY", format!(":{}", x.1))
        .env("XRT_COMPOSITOR_FORCE_XCB", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a line").unwrap();
    assert!(first.contains("on_screen"), "{first}");
    // Monado's simulated head sways: at some moments the panel beside the twin sits just past one eye's
    // edge. Look a few times, a frame or so apart, until both eyes show the twin and its panel.
    let mut seen = Eyes::default();
    for _ in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(400));
        let (w, h, pixels) = screenshot(x.1);
        seen = Eyes::read(w, h, &pixels);
        write_png(&root().join("target/headset/screenshot.png"), w, h, &pixels);
        if seen.both_show_the_twin_and_panel() {
            break;
        }
    }
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report(&rest.join("\n"))["frames"] == 150);
    let Eyes {
        window,
        skin,
        panel,
    } = seen;
    assert!(
        window.0 > 100 && window.1 > 100,
        "Monado's window is on the screen ({}x{})",
        window.0,
        window.1
    );
    assert!(
        skin[0] > 100 && skin[1] > 100,
        "skin pixels: left eye {}, right eye {}",
        skin[0],
        skin[1]
    );
    assert!(
        panel[0] > 500 && panel[1] > 500,
        "caption panel pixels: left eye {}, right eye {}",
        panel[0],
        panel[1]
    );
}

/// What a screenshot of Monado's window shows in each eye.
#[derive(Debug, Default)]
struct Eyes {
    /// The window's extent.
    window: (u32, u32),
    /// The twin's skin (face, hands), left and right eye.
    skin: [usize; 2],
    /// The caption panel's dark ground ("offline" without a server).
    panel: [usize; 2],
}

impl Eyes {
    /// Monado's window (no window manager: top left) holds the two eyes side by side. Mesa 22 on Debian 12
    /// draws both.
    fn read(w: u32, h: u32, pixels: &[[u8; 3]]) -> Eyes {
        let at = |x: u32, y: u32| pixels[(y * w + x) as usize];
        let background = at(w - 1, h - 1);
        // The window's extent: the box around everything that is not the screen's background (its corners
        // can be black too: the simulated head moves, and the distortion's edge with it).
        let drawn = |x: u32, y: u32| at(x, y) != background;
        let right_edge = (0..w)
            .rev()
            .find(|&x| (0..h).step_by(4).any(|y| drawn(x, y)))
            .unwrap_or(0)
            + 1;
        let bottom = (0..h)
            .rev()
            .find(|&y| (0..w).step_by(4).any(|x| drawn(x, y)))
            .unwrap_or(0)
            + 1;
        let count = |x0: u32, x1: u32, looks: &dyn Fn([u8; 3]) -> bool| {
            (x0..x1)
                .flat_map(|x| (0..bottom).map(move |y| (x, y)))
                .filter(|&(x, y)| looks(at(x, y)))
                .count()
        };
        let skin = |p: [u8; 3]| p[0] > 120 && p[0] > p[1] && p[1] > p[2] && p[0] - p[2] > 40;
        let panel = |p: [u8; 3]| p.iter().all(|&c| c < 45) && p != [0, 0, 0];
        let half = right_edge / 2;
        Eyes {
            window: (right_edge, bottom),
            skin: [count(0, half, &skin), count(half, right_edge, &skin)],
            panel: [count(0, half, &panel), count(half, right_edge, &panel)],
        }
    }

    fn both_show_the_twin_and_panel(&self) -> bool {
        self.skin.iter().all(|&n| n > 100) && self.panel.iter().all(|&n| n > 500)
    }
}

#[test]
fn a_spoken_question_is_answered_by_the_twin_in_the_headset() {
    const TOKEN: &str = "headset-token";
    let url = common::start_server(TOKEN, 32);
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("question.wav");
    let question = "What is the plan for the warehouse robots next year?";
    common::spoken_wav(&wav, question);
    let r = run_report(
        headset()
            .args([
                "--json",
                "--no-keep-place",
                "--no-speaker",
                "--token",
                TOKEN,
                "--url",
                &url,
                "--input",
            ])
            .arg(&wav)
            .env("XRT_COMPOSITOR_NULL", "1"),
    );
    assert!(
        r["states"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "EXITING"),
        "{r}"
    );
    let d = &r["dialogue"];
    // A virtual speaker on the loop's clock: ALSA's null sink would take kira's (or cpal's) stream faster
    // than real time, and the reply would be "heard" in a few frames.
    assert!(d["speaker"].as_str().unwrap().contains("virtual"), "{r}");
    let turns = d["turns"].as_array().expect("the user's turns");
    assert_eq!(turns.len(), 1, "{r}");
    let heard = turns[0].as_str().unwrap();
    assert!(
        twin_testkit::score::word_error_rate(question, heard) <= 0.35,
        "{heard:?}"
    );
    // The greeting, then the answer.
    let replies = d["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 2, "{r}");
    assert!(!replies[1]["text"].as_str().unwrap().is_empty(), "{r}");
    // Both replies were heard in the session, the mouth moving through most of them.
    let speaking = d["speaking_frames"].as_u64().unwrap();
    let moving = d["mouth_moving_frames"].as_u64().unwrap();
    assert!(speaking > 60, "{r}");
    assert!(moving * 2 > speaking, "the mouth stayed still: {r}");
    assert_eq!(d["answer_audio_ms"].as_array().unwrap().len(), 1, "{r}");
    // The captions followed the conversation: the greeting's words, the question, the answer, the cues.
    assert!(r["panel_updates"].as_u64().unwrap() > 5, "{r}");
}

/// The twin's spot is kept per room: placed in front of the user the first time, where it stood the next
/// (though the simulated head has moved), and a broken file is set aside rather than trusted or lost.
#[test]
fn the_twin_is_where_it_stood_last_time_in_this_room() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("placements.json");
    let run = || {
        run_report(
            headset()
                .args(["--frames", "20", "--json", "--placements"])
                .arg(&file)
                .env("XRT_COMPOSITOR_NULL", "1"),
        )
    };
    let first = run();
    assert_eq!(first["placed_from"], "in_front", "{first}");
    assert!(file.is_file());
    let second = run();
    assert_eq!(second["placed_from"], "kept", "{second}");
    assert_eq!(second["spot"], first["spot"], "{second}");
    std::fs::write(&file, "not json").unwrap();
    let third = run();
    assert_eq!(third["placed_from"], "in_front", "{third}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("placements.json.bad")).unwrap(),
        "not json"
    );
    assert!(file.is_file(), "a new file for the new spot");
}

/// A meeting in the headset: a remote participant (a script on the link, standing before their own twin
/// and moving their hand) joins the room with the headset's user and asks first. The headset shows them at
/// their seat beside the twin, the twin turns to them while it answers them, and the headset sends its own
/// user's head for the others, in the room's frame (the twin 1.2 m in front of the user).
#[test]
fn in_a_room_the_headset_shows_a_remote_person_and_the_twin_turns_to_them() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use twin_protocol::{ClientMessage, Pose, ServerMessage};
    const TOKEN: &str = "room-headset-token";
    let url = common::start_server(TOKEN, 32);
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("question.wav");
    common::spoken_wav(&wav, "What is the plan for the warehouse robots next year?");
    let stop = Arc::new(AtomicBool::new(false));
    let remote = {
        let stop = stop.clone();
        common::in_room(
            &url,
            TOKEN,
            "meeting",
            "remote-script",
            None,
            true,
            |mut link| async move {
                let (mut asked, mut seq) = (false, 0u64);
                let (mut heads, mut last_head) = (0u32, [0f32; 3]);
                let mut tick = tokio::time::interval(std::time::Duration::from_millis(33));
                while !stop.load(Ordering::Relaxed) {
                    tokio::select! {
                        m = link.next() => match m.unwrap() {
                            // Once the headset's user is in, ask.
                            ServerMessage::Room { participants, .. } if participants.len() == 2 && !asked => {
                                asked = true;
                                link.send(&ClientMessage::UserFinal {
                                    turn_id: "remote-1".into(),
                                    text: "How many days do we come into the office?".into(),
                                    attachment: None,
                                    revises: None,
                                })
                                .await
                                .unwrap();
                            }
                            ServerMessage::Pose { head, .. } => {
                                heads += 1;
                                last_head = head.position;
                            }
                            _ => {}
                        },
                        _ = tick.tick() => {
                            seq += 1;
                            let wave = (seq as f32 * 0.2).sin() * 0.2;
                            let pose = |x: f32, y: f32, z: f32| Pose {
                                position: [x, y, z],
                                orientation: [0.0, 0.0, 0.0, 1.0],
                            };
                            link.send(&ClientMessage::Pose {
                                seq,
                                head: pose(0.0, 1.65, 1.2),
                                left: None,
                                right: Some(pose(0.3 + wave, 1.3, 0.9)),
                            })
                            .await
                            .unwrap();
                            // And their voice (a hum), 33 ms at a time.
                            let hum: Vec<i16> = (0..528)
                                .map(|i| ((i as f32 * 0.1).sin() * 3000.0) as i16)
                                .collect();
                            link.send(&ClientMessage::Voice {
                                seq,
                                sample_rate: 16_000,
                                pcm16: twin_protocol::encode_pcm16(&hum),
                            })
                            .await
                            .unwrap();
                        }
                    }
                }
                (asked, heads, last_head)
            },
        )
    };
    let r = run_report(
        headset()
            .args([
                "--json",
                "--no-keep-place",
                "--no-speaker",
                "--room",
                "meeting",
                "--token",
                TOKEN,
                "--url",
                &url,
                "--input",
            ])
            .arg(&wav)
            .env("XRT_COMPOSITOR_NULL", "1"),
    );
    stop.store(true, Ordering::Relaxed);
    let (asked, heads, last_head) = remote.join().unwrap();
    assert!(asked);
    let room = &r["dialogue"]["room"];
    assert_eq!(room["people"].as_array().unwrap().len(), 2, "{r}");
    assert!(room["poses_received"].as_u64().unwrap() > 20, "{r}");
    assert!(room["poses_sent"].as_u64().unwrap() > 20, "{r}");
    assert!(
        room["voice_chunks"].as_u64().unwrap() > 20,
        "their voice reached the headset: {r}"
    );
    assert_eq!(
        r["presences_drawn"], 1,
        "the remote person beside the twin: {r}"
    );
    assert!(
        room["turned_to_others_frames"].as_u64().unwrap() > 5,
        "the twin turned to the remote person while answering them: {r}"
    );
    // The remote person opened the room and heard its greeting; the headset's user came in after it and
    // hears the disclosure on their own, then the answer to the remote person (who asked first), then the
    // answer to the headset's user.
    let replies = r["dialogue"]["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 3, "{r}");
    assert!(
        replies[0]["text"].as_str().unwrap().contains("AI twin"),
        "{r}"
    );
    assert!(replies[1]["text"].as_str().unwrap().contains("days"), "{r}");
    // The headset's user, as the others see them: 1.2 m in front of the twin, at eye height.
    assert!(heads > 20, "{heads} poses of the headset's user");
    assert!(
        (last_head[2] - 1.2).abs() < 0.15 && last_head[1] > 1.0,
        "{last_head:?}"
    );
}

/// Colocated alignment in the headset: with the room's floor marks known (`--marks`, as an earlier
/// alignment's report gives them), the first headset in the room shares where it stood the twin; a second
/// headset, whose tracking space is turned and shifted against the first's (its marks read differently), stands
/// the twin on that same spot of the room, and a participant on the link hears the spot.
#[test]
fn colocated_headsets_stand_the_twin_on_one_spot_through_the_floor_marks() {
    use twin_protocol::ServerMessage;
    const TOKEN: &str = "align-token";
    let url = common::start_server(TOKEN, 16);
    let dir = tempfile::tempdir().unwrap();
    let quiet = dir.path().join("quiet.wav");
    common::silence_wav(&quiet, 30);
    // Someone on the link keeps the room open and listens for the twin's spot.
    let (tx, spots) = std::sync::mpsc::channel();
    common::in_room(
        &url,
        TOKEN,
        "meeting",
        "listener",
        None,
        false,
        |mut link| async move {
            while let Ok(m) = link.next().await {
                if let ServerMessage::Placed { spot, .. } = m {
                    let _ = tx.send(spot);
                }
            }
        },
    );
    let run = |marks: &str| {
        run_report(
            headset()
                .args([
                    "--json",
                    "--frames",
                    "50",
                    "--no-keep-place",
                    "--no-speaker",
                    "--room",
                    "meeting",
                    "--align",
                    "--marks",
                    marks,
                    "--token",
                    TOKEN,
                    "--url",
                    &url,
                    "--input",
                ])
                .arg(&quiet)
                .env("XRT_COMPOSITOR_NULL", "1"),
        )
    };
    // The first: nobody has placed the twin, so its spot (in front of its user) becomes the room's.
    let first = run("0,0,1,0");
    assert_eq!(first["places_shared"], 1, "{first}");
    assert_eq!(first["placed_by_room"], 0, "{first}");
    let shared = spots
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the room heard the twin's spot");
    let spot = &first["spot"];
    let f = |v: &serde_json::Value| v.as_f64().unwrap() as f32;
    // Mark A at the origin, B along +x: the marks' frame is the tracking space itself.
    assert!((shared.x - f(&spot["x"])).abs() < 1e-4 && (shared.z - f(&spot["z"])).abs() < 1e-4);
    // The second headset's tracking space: mark A at (1, 0), B along its +z.
    let second = run("1,0,1,1");
    assert_eq!(second["placed_by_room"], 1, "{second}");
    assert_eq!(second["places_shared"], 0, "{second}");
    let got = &second["spot"];
    let (want_x, want_z) = (1.0 - shared.z, shared.x);
    assert!(
        (f(&got["x"]) - want_x).abs() < 1e-3 && (f(&got["z"]) - want_z).abs() < 1e-3,
        "{got} ≠ ({want_x}, {want_z})"
    );
    let turn = f(&got["yaw"]) - (shared.yaw - std::f32::consts::FRAC_PI_2);
    assert!(turn.sin().abs() < 1e-3 && turn.cos() > 0.0, "{got}");
}
