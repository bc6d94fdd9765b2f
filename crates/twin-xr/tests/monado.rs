//! Against a real OpenXR runtime: Monado (built by `cargo xtask setup --with-test-tools`, which `cargo xtask
//! test` runs; its manifest in TWIN_MONADO_JSON), in-process, with its null compositor and simulated headset
//! on lavapipe.

use std::process::Command;

/// Runs this test binary's `probe_child` test in a child process with Monado selected: the OpenXR loader
/// reads XR_RUNTIME_JSON once per process.
fn with_monado(test: &str, runtime_json: &str) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--include-ignored"])
        .env("XR_RUNTIME_JSON", runtime_json)
        .env("XRT_COMPOSITOR_NULL", "1")
        .env("SIMULATED_ENABLE", "1")
        .env(
            "VK_ICD_FILENAMES",
            "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json",
        )
        .env("TWIN_XR_CHILD", "1")
        .output()
        .unwrap()
}

fn monado() -> String {
    std::env::var("TWIN_MONADO_JSON").expect(
        "TWIN_MONADO_JSON is not set: run through `cargo xtask test`, which builds Monado and sets it",
    )
}

#[test]
fn monado_is_a_stereo_headset_with_vulkan() {
    let out = with_monado("probe_child", &monado());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("PROBE "))
        .expect("the child printed its probe");
    let probe: serde_json::Value = serde_json::from_str(line).unwrap();
    assert!(
        probe["runtime"].as_str().unwrap().contains("Monado"),
        "{probe}"
    );
    assert!(
        probe["system"].as_str().unwrap().contains("Simulated HMD"),
        "{probe}"
    );
    assert_eq!(probe["views"].as_array().unwrap().len(), 2, "{probe}");
    assert!(
        probe["blend_modes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "opaque"),
        "{probe}"
    );
}

#[test]
fn a_session_runs_frames_through_its_lifecycle_and_exits_cleanly() {
    let out = with_monado("session_child", &monado());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("SESSION "))
        .expect("the child reported its session");
    let report: serde_json::Value = serde_json::from_str(line).unwrap();
    let states: Vec<&str> = report["states"]
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
    assert!(report["drawn"].as_u64().unwrap() >= 30, "{report}");
}

#[test]
fn a_missing_runtime_is_named_and_retryable() {
    let out = with_monado("missing_child", "/nonexistent/openxr_runtime.json");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "run by monado_is_a_stereo_headset_with_vulkan in a child process"]
fn probe_child() {
    assert!(std::env::var_os("TWIN_XR_CHILD").is_some());
    let runtime = twin_xr::Runtime::open("twin-test").unwrap();
    let probe = runtime.probe().unwrap();
    println!("PROBE {}", serde_json::to_string(&probe).unwrap());
}

#[test]
#[ignore = "run by a_session_runs_frames_through_its_lifecycle_and_exits_cleanly in a child process"]
fn session_child() {
    use twin_xr::session::{COLOR_FORMAT, Step, XrSession};
    assert!(std::env::var_os("TWIN_XR_CHILD").is_some());
    let runtime = twin_xr::Runtime::open("twin-test").unwrap();
    let ctx = twin_xr::vulkan::create_context(&runtime).unwrap();
    let mut renderer = twin_render::Renderer::new(
        ctx.clone(),
        COLOR_FORMAT,
        2,
        ash::vk::ImageLayout::COLOR_ATTACHMENT_OPTIMAL,
    )
    .unwrap();
    let mut session = XrSession::new(&runtime, ctx).unwrap();
    let (mut drawn, mut exit_asked) = (0u64, false);
    let started = std::time::Instant::now();
    loop {
        match session.step(&runtime, &mut renderer).unwrap() {
            Step::Drew => drawn += 1,
            Step::Exit => break,
            Step::Idle => std::thread::sleep(std::time::Duration::from_millis(10)),
            Step::Skipped => {}
        }
        if !exit_asked && (drawn >= 40 || started.elapsed().as_secs() > 60) {
            session.request_exit().unwrap();
            exit_asked = true;
        }
        assert!(started.elapsed().as_secs() < 120, "the session never ended");
    }
    let states: Vec<String> = session.states.iter().map(|s| format!("{s:?}")).collect();
    drop(session);
    drop(renderer);
    println!(
        "SESSION {}",
        serde_json::json!({ "states": states, "drawn": drawn })
    );
}

#[test]
#[ignore = "run by a_missing_runtime_is_named_and_retryable in a child process"]
fn missing_child() {
    assert!(std::env::var_os("TWIN_XR_CHILD").is_some());
    let err = twin_xr::Runtime::open("twin-test")
        .err()
        .expect("no runtime there");
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("XR_RUNTIME_JSON"), "{err}");
}
