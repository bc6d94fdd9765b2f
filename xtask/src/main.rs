//! `cargo xtask`: setup, demo, test, bench. The project's one entry point for people and CI.

mod fetch;
mod prepare;
mod tls;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

#[derive(Parser)]
#[command(about = "Twin project automation")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install the Debian packages the project needs and fetch every model in models/manifest.toml.
    Setup(SetupArgs),
    /// Setup, build, start the edge server on embedded defaults, and hold a scripted conversation with the twin.
    Demo {
        #[command(flatten)]
        setup: SetupArgs,
        /// A meeting instead: three people with the twin in one room (one asks aloud in the best client
        /// here, two type), written to out/room-transcript.txt with every turn attributed.
        #[arg(long)]
        room: bool,
    },
    /// Setup (with test tools), then run the whole test suite.
    Test {
        #[command(flatten)]
        setup: SetupArgs,
        /// The fast tier instead: setup without the test tools, then formatting, clippy with warnings as errors
        /// and the unit tests (each crate's library and binaries), a few minutes warm.
        #[arg(long)]
        fast: bool,
        /// Extra arguments for `cargo test` (after `--`).
        #[arg(last = true)]
        cargo_args: Vec<String>,
    },
    /// Run the property tests over what Twin reads from outside (crates/twin-fuzz) at length: `cases` inputs
    /// per target (the test suite runs 256), in release; prints the time each target took.
    Fuzz {
        #[arg(long, default_value_t = 200_000)]
        cases: u32,
    },
    /// Run the benchmarks and rewrite BENCHMARKS.md.
    Bench {
        #[command(flatten)]
        setup: SetupArgs,
        /// Questions per backend.
        #[arg(long, default_value_t = 24)]
        questions: usize,
    },
}

#[derive(clap::Args, Clone)]
struct SetupArgs {
    /// Don't install Debian packages (report what is missing instead).
    #[arg(long)]
    no_apt: bool,
    /// Also install and build the tools tests and benchmarks need (headless Chromium and chromedriver from
    /// Debian; llama.cpp's llama-server, ~8 minutes; Monado, the OpenXR runtime, ~5 minutes; once, then cached).
    #[arg(long)]
    with_test_tools: bool,
    /// Another name or address the demo's server certificate is for (a headset reaches this machine by its
    /// LAN address); the certificate is made once, so delete models/tls to add one.
    #[arg(long, value_name = "NAME")]
    tls_name: Vec<String>,
}

/// Debian packages: C toolchain and cmake for llama.cpp, libclang for its bindings, espeak-ng (phonemes for the
/// Piper voice, the fallback voice, lip-sync ground truth), a font for plots, curl and xz for downloads, glslc
/// for shaders, Mesa's Vulkan drivers (lavapipe renders on the CPU where there is no GPU), ALSA's headers for
/// audio in and out, Xvfb and xwd for the desktop window's test, ffmpeg for `twin render`'s MP4, and speexdsp
/// (the echo canceller).
const APT_PACKAGES: &[&str] = &[
    "build-essential",
    "espeak-ng",
    "xz-utils",
    "glslc",
    "mesa-vulkan-drivers",
    "libvulkan1",
    "libespeak-ng-dev",
    "fonts-dejavu-core",
    "cmake",
    "libclang-dev",
    "pkg-config",
    "curl",
    "ca-certificates",
    "libasound2-dev",
    "xvfb",
    "x11-apps",
    "ffmpeg",
    // The echo canceller.
    "libspeexdsp-dev",
    // The OpenXR loader the headset app opens at run time.
    "libopenxr-loader1",
];

/// Debian packages only the tests need (`--with-test-tools`): headless Chromium and its WebDriver server, which
/// the review console's browser tests drive (crates/twin-server/tests/common/browser.rs).
const TEST_APT_PACKAGES: &[&str] = &["chromium", "chromium-driver"];

fn main() -> Result<()> {
    let cli = Cli::parse();
    let root = project_root();
    std::env::set_current_dir(&root)
        .with_context(|| format!("cannot enter the project root {}", root.display()))?;
    match cli.command {
        Task::Setup(args) => setup(&root, &args).map(|_| ()),
        Task::Demo {
            setup: args,
            room: false,
        } => demo(&root, &args),
        Task::Demo {
            setup: args,
            room: true,
        } => room_demo(&root, &args),
        Task::Test {
            setup: args,
            fast: true,
            cargo_args,
        } => fast_test(&root, &args, &cargo_args),
        Task::Test {
            setup: mut args,
            fast: false,
            cargo_args,
        } => {
            args.with_test_tools = true;
            test(&root, &args, &cargo_args)
        }
        Task::Fuzz { cases } => fuzz(cases),
        Task::Bench {
            setup: mut args,
            questions,
        } => {
            args.with_test_tools = true;
            bench(&root, &args, questions)
        }
    }
}

/// `cargo run` tells the process where its manifest is; the compile-time path is only a fallback, because a
/// target directory shared between clones (CI caches it) may hold an xtask built in another clone.
fn project_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(manifest_dir)
}

pub struct Setup {
    /// The demo CA clients trust (TWIN_CA).
    pub ca: PathBuf,
    pub models_dir: PathBuf,
    pub llama_server: Option<PathBuf>,
    /// Monado's runtime manifest (for XR_RUNTIME_JSON).
    pub monado: Option<PathBuf>,
}

fn setup(root: &Path, args: &SetupArgs) -> Result<Setup> {
    step("Debian packages");
    ensure_apt(APT_PACKAGES, args.no_apt)?;
    let manifest = fetch::Manifest::load(&root.join("models/manifest.toml"))?;
    let ctx = fetch::Context::new(root)?;
    step(&format!(
        "models (mirror: {})",
        ctx.mirror
            .as_ref()
            .map_or("none".into(), |m| m.display().to_string())
    ));
    for (i, model) in manifest.model.iter().enumerate() {
        println!(
            "[{}/{}] {} — {}",
            i + 1,
            manifest.model.len(),
            model.name,
            model.about
        );
        ctx.fetch_model(model)?;
    }
    step("avatars (each persona's face from the ICT face model, with a generated body)");
    build_avatars(root, &ctx.models_dir)?;
    step("TLS for the demo (a local CA and the server's certificate)");
    let ca = tls::demo_certificates(&ctx.models_dir, &args.tls_name)?;
    let mut tools = std::collections::HashMap::new();
    if args.with_test_tools {
        step("Debian packages for the tests");
        ensure_apt(TEST_APT_PACKAGES, args.no_apt)?;
        for tool in &manifest.tool {
            step(&format!("tool {} — {}", tool.name, tool.about));
            let apt: Vec<&str> = tool.apt.iter().map(String::as_str).collect();
            ensure_apt(&apt, args.no_apt)?;
            tools.insert(tool.name.clone(), ctx.build_tool(tool)?);
        }
    }
    Ok(Setup {
        ca,
        models_dir: ctx.models_dir.clone(),
        llama_server: tools.remove("llama-server"),
        monado: tools.remove("monado"),
    })
}

/// Builds `models/avatars/<persona>.glb` for every persona pack, unless it is up to date.
fn build_avatars(root: &Path, models_dir: &Path) -> Result<()> {
    let face_model = models_dir.join("ict-facekit");
    let out_dir = models_dir.join("avatars");
    let mut packs: Vec<PathBuf> = std::fs::read_dir(root.join("assets/personas"))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("persona.toml").is_file())
        .collect();
    packs.sort();
    for pack in packs {
        let persona = twin_avatar::persona::read_persona(&pack)?;
        let out = out_dir.join(format!("{}.glb", persona.id));
        let stamp = out.with_extension("built.json");
        // Rebuilt when the persona's face, texture, height or the builder changes.
        let texture = persona.options.albedo.as_ref().map(|a| {
            use sha2::Digest;
            format!("{:x}", sha2::Sha256::digest(&a.png))
        });
        let wanted = serde_json::json!({
            "identity": persona.options.identity,
            "albedo": texture,
            "iris": persona.options.iris,
            "hair": persona.options.hair,
            "height_m": persona.options.height_m,
            "builder": twin_avatar::ict_avatar::BUILDER_REVISION,
        })
        .to_string();
        if out.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
            println!("  ok       {}", out.display());
            continue;
        }
        let started = std::time::Instant::now();
        let built = twin_avatar::persona::build_persona(&face_model, &persona, &out)
            .with_context(|| format!("building the avatar of {}", pack.display()))?;
        std::fs::write(&stamp, wanted)?;
        println!(
            "  built    {} ({} triangles, {} morph targets, {:.2} m, {:.1} s)",
            out.display(),
            built.triangles,
            built.morph_targets.len(),
            built.height_m,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn step(what: &str) {
    println!("==> {what}");
}

fn ensure_apt(packages: &[&str], no_apt: bool) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", p])
                .output()
                .map(|o| !String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
                .unwrap_or(true)
        })
        .collect();
    if missing.is_empty() {
        println!("all present: {}", packages.join(" "));
        return Ok(());
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    if no_apt || !is_root {
        bail!(
            "missing Debian packages: {}. Install them with: sudo apt-get install -y {}",
            missing.join(" "),
            missing.join(" ")
        );
    }
    println!("installing: {}", missing.join(" "));
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

fn test(root: &Path, args: &SetupArgs, cargo_args: &[String]) -> Result<()> {
    let s = setup(root, args)?;
    step("tests");
    let mut cmd = cargo();
    cmd.args(["test", "--workspace"])
        .args(cargo_args)
        .env("TWIN_MODELS_DIR", &s.models_dir);
    if let Some(llama) = &s.llama_server {
        cmd.env("TWIN_LLAMA_SERVER", llama);
    }
    if let Some(monado) = &s.monado {
        cmd.env("TWIN_MONADO_JSON", monado);
    }
    run(&mut cmd)?;
    android_check()
}

/// The fast tier: what catches most mistakes in a few minutes, before the full suite's real servers, browsers,
/// OpenXR runtime and speech.
fn fast_test(root: &Path, args: &SetupArgs, cargo_args: &[String]) -> Result<()> {
    let s = setup(root, args)?;
    step("formatting (cargo fmt --check)");
    run(cargo().args(["fmt", "--all", "--check"]))?;
    step("clippy, warnings as errors");
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    step("unit tests");
    run(cargo()
        .args(["test", "--workspace", "--lib", "--bins"])
        .args(cargo_args)
        .env("TWIN_MODELS_DIR", &s.models_dir))
}

/// The Quest app (`twin-quest`: the native activity around the `twin` library without the desktop tools)
/// type-checks for Quest's CPU. There is no NDK here, so nothing is compiled to machine code or linked
/// (android/README.md has the full build), and the app is checked without its `tls` feature: ring's build
/// script compiles C for the target even for a check (the TLS code itself is checked for this machine).
fn android_check() -> Result<()> {
    const TARGET: &str = "aarch64-linux-android";
    step("the headset app for Android (cargo check, aarch64-linux-android)");
    run(Command::new("rustup").args(["target", "add", TARGET]))
        .context("rustup cannot add the Android target")?;
    run(cargo().args([
        "check",
        "-p",
        "twin-quest",
        "--no-default-features",
        "--target",
        TARGET,
    ]))
}

/// `cargo xtask fuzz`: each target of crates/twin-fuzz alone, timed.
fn fuzz(cases: u32) -> Result<()> {
    const TARGETS: [&str; 6] = ["protocol", "gltf", "persona", "wav", "sse", "sentences"];
    step(&format!(
        "property tests, {cases} inputs per target (release)"
    ));
    run(cargo().args(["test", "--release", "-p", "twin-fuzz", "--no-run"]))?;
    for target in TARGETS {
        let out = cargo()
            .args(["test", "--release", "-p", "twin-fuzz", "--test", target])
            .env("TWIN_FUZZ_CASES", cases.to_string())
            .output()
            .with_context(|| format!("cannot run the {target} target"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            print!("{text}{}", String::from_utf8_lossy(&out.stderr));
            bail!("the {target} target failed (its smallest failing input is above)");
        }
        // The harness's own time, not cargo's start-up.
        let seconds = text
            .lines()
            .filter_map(|l| l.split("finished in ").nth(1))
            .filter_map(|t| t.trim_end_matches('s').parse::<f64>().ok())
            .sum::<f64>();
        println!("  {target}: {cases} inputs per property in {seconds:.2} s, no failure");
    }
    Ok(())
}

/// A running `twin-server`, stopped when dropped.
pub struct Server {
    child: Child,
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_server(bin: &Path, config: &Path, store: &Path, models_dir: &Path) -> Result<Server> {
    let mut child = Command::new(bin)
        .args(["serve", "--config"])
        .arg(config)
        .args(["--listen", "127.0.0.1:0", "--store"])
        .arg(store)
        .env("TWIN_MODELS_DIR", models_dir)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    break addr.trim().to_string();
                }
            }
            _ => {
                let status = child.wait()?;
                bail!("twin-server exited before listening ({status}); see its log above");
            }
        }
    };
    Ok(Server { child, addr })
}

const DEMO_TOKEN: &str = "demo-token-change-me";
/// The demo config's token for the review console (`capabilities = ["review"]`).
const DEMO_REVIEW_TOKEN: &str = "owen-review-token-change-me";
/// Asked aloud after the typed ones, through speech in.
const DEMO_SPOKEN_QUESTION: &str = "What is the plan for the warehouse robots next year?";

const DEMO_QUESTIONS: &[&str] = &[
    "Hi Owen, is this really you?",
    "How many days do I need to come into the office now?",
    "Why did we give away our robot simulator for free?",
    "What happens to warehouse jobs when our robots arrive?",
    "Can you approve two more engineers for my team?",
    "Which football club do you support?",
];

/// Setup and the build the demos run: the same as `cargo xtask test` (whole workspace, tests included), so the
/// two share every artifact (feature unification differs between a partial and a whole-workspace build).
fn build_for_demo(root: &Path, args: &SetupArgs) -> Result<(Setup, PathBuf)> {
    let s = setup(root, args)?;
    step("build");
    run(cargo().args(["test", "--workspace", "--no-run"]))?;
    Ok((s, target_dir(root).join("debug")))
}

/// Who meets the twin in `cargo xtask demo --room` (tokens of assets/config/demo.toml) and what they say.
const ROOM: &str = "standup";
const ROOM_SPOKEN: &str = "What is the plan for the warehouse robots next year?";
const ROOM_TYPED: &[(&str, &str, &str)] = &[
    (
        "Ana",
        "ana-token-change-me",
        "How many days do we need to come into the office now?",
    ),
    (
        "Ben",
        "ben-token-change-me",
        "Why did we give away our robot simulator for free?",
    ),
];

fn room_demo(root: &Path, args: &SetupArgs) -> Result<()> {
    let (s, bin) = build_for_demo(root, args)?;
    let twin = bin.join("twin");
    step("edge server (embedded defaults), room \"standup\" for the demo token, Ana and Ben");
    let out = root.join("out");
    std::fs::create_dir_all(&out)?;
    // A meeting of its own: an earlier run's room would go on where it stopped.
    let store = out.join("room.db");
    for f in ["room.db", "room.db-wal", "room.db-shm"] {
        let _ = std::fs::remove_file(out.join(f));
    }
    let server = start_server(
        &bin.join("twin-server"),
        &root.join("assets/config/demo.toml"),
        &store,
        &s.models_dir,
    )?;
    let url = format!("wss://{}/v1/session", server.addr);
    println!("twin-server on {}", server.addr);
    step("the meeting: you ask aloud, Ana and Ben type at the same moment (one waits its turn)");
    let question = out.join("room-question.wav");
    run(Command::new(&twin)
        .args(["say", ROOM_SPOKEN, "--voice", "espeak:en-us", "--out"])
        .arg(&question))?;
    let client = Client::pick(&twin);
    println!("you: {} ({})", client.name(), client.why);
    let voice = out.join("room-voice");
    let _ = std::fs::remove_dir_all(&voice);
    let mut you = client.asking(&twin, &question, &voice, 240);
    you.args(["--url", &url, "--token", DEMO_TOKEN, "--room", ROOM])
        .env("TWIN_CA", &s.ca)
        .env("TWIN_MODELS_DIR", &s.models_dir)
        .stdout(Stdio::piped());
    let mut you = you.spawn().context("cannot start your client")?;
    let yours = you.stdout.take().context("no stdout")?;
    let said_by_you = std::thread::spawn(move || {
        BufReader::new(yours)
            .lines()
            .map_while(Result::ok)
            .map(|l| format!("[you] {l}"))
            .inspect(|l| println!("{l}"))
            .count()
    });
    // The twin greets the room first: Ana and Ben come in while it does.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let typed: Vec<_> = ROOM_TYPED
        .iter()
        .map(|(name, token, text)| {
            let child = Command::new(&twin)
                .args(["chat", "--url", &url, "--token", token, "--room", ROOM])
                .args(["--once", text])
                .env("TWIN_CA", &s.ca)
                .stdout(Stdio::piped())
                .spawn()
                .context("cannot start twin chat")?;
            Ok((*name, child))
        })
        .collect::<Result<_>>()?;
    for (name, mut c) in typed {
        let out = c.stdout.take().context("no stdout")?;
        for line in BufReader::new(out).lines() {
            println!("[{name}] {}", line?);
        }
        let status = c.wait()?;
        if !status.success() {
            bail!("{name}'s twin chat failed ({status})");
        }
    }
    let status = you.wait()?;
    let _ = said_by_you.join();
    if !status.success() {
        bail!("your {} failed ({status})", client.name());
    }
    step("the room's transcript, as the server stored it");
    let history = Command::new(&twin)
        .args(["chat", "--url", &url, "--token", DEMO_TOKEN, "--room", ROOM])
        .arg("--history")
        .env("TWIN_CA", &s.ca)
        .output()?;
    if !history.status.success() {
        bail!(
            "reading the room's history failed: {}",
            String::from_utf8_lossy(&history.stderr)
        );
    }
    let transcript: String = String::from_utf8_lossy(&history.stdout)
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix('['))
        .filter_map(|l| l.split_once("] "))
        .map(|(_, turn)| format!("{turn}\n"))
        .collect();
    print!("{transcript}");
    let path = out.join("room-transcript.txt");
    std::fs::write(&path, &transcript)?;
    drop(server);
    println!(
        "\nThe meeting's transcript is in {}, each turn with its speaker; the conversation is stored in {} (session room:{ROOM}).",
        path.display(),
        store.display()
    );
    Ok(())
}

fn demo(root: &Path, args: &SetupArgs) -> Result<()> {
    let (s, bin) = build_for_demo(root, args)?;
    step("edge server (embedded LLM and embeddings, demo persona Owen Marsh)");
    let out = root.join("out");
    std::fs::create_dir_all(&out)?;
    let server = start_server(
        &bin.join("twin-server"),
        &root.join("assets/config/demo.toml"),
        &out.join("demo.db"),
        &s.models_dir,
    )?;
    println!("twin-server on {}", server.addr);
    step("conversation (spoken replies saved as WAV, lip-sync track and plot)");
    let speech = out.join("demo-speech");
    // Replies of an earlier run would mix with this one's.
    let _ = std::fs::remove_dir_all(&speech);
    let mut chat = Command::new(bin.join("twin"))
        .args([
            "chat",
            "--url",
            &format!("wss://{}/v1/session", server.addr),
            "--token",
            DEMO_TOKEN,
            "--speech",
        ])
        .arg(&speech)
        .env("TWIN_CA", &s.ca)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdin = chat.stdin.take().context("no stdin")?;
    let stdout = chat.stdout.take().context("no stdout")?;
    // Ask one question at a time, after the previous answer printed, like a person at the keyboard.
    let mut reader = BufReader::new(stdout);
    let mut questions = DEMO_QUESTIONS.iter();
    // The spoken question goes on the same session.
    let mut session: Option<String> = None;
    let mut buf = Vec::new();
    // What was said, typed and spoken, for out/transcript.txt.
    let mut transcript = String::new();
    loop {
        buf.clear();
        // The prompt "you: " has no newline: read up to it or a newline, whichever comes first.
        let n = read_until_prompt(&mut reader, &mut buf)?;
        if n == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&buf);
        print!("{text}");
        transcript.push_str(&text);
        if let Some(id) = text.trim().strip_prefix("session ") {
            session = Some(id.to_string());
        }
        if text.ends_with("you: ") {
            match questions.next() {
                Some(q) => {
                    println!("{q}");
                    transcript.push_str(q);
                    transcript.push('\n');
                    writeln!(stdin, "{q}")?;
                }
                None => {
                    println!();
                    drop(stdin);
                    break;
                }
            }
        }
        std::io::stdout().flush()?;
    }
    let status = chat.wait()?;
    if !status.success() {
        bail!("twin chat failed ({status})");
    }
    step(
        "a spoken question (espeak-ng's voice in a WAV) through speech in on the device: echo canceller, VAD, Whisper; the twin answers aloud",
    );
    let voice = out.join("demo-voice");
    let _ = std::fs::remove_dir_all(&voice);
    let question = out.join("question.wav");
    run(Command::new(bin.join("twin"))
        .args([
            "say",
            DEMO_SPOKEN_QUESTION,
            "--voice",
            "espeak:en-us",
            "--out",
        ])
        .arg(&question))?;
    let client = Client::pick(&bin.join("twin"));
    println!("client: {} ({})", client.name(), client.why);
    let url = format!("wss://{}/v1/session", server.addr);
    let mut ask = client.asking(&bin.join("twin"), &question, &voice, 120);
    ask.args(["--url", &url, "--token", DEMO_TOKEN])
        .args(session.iter().flat_map(|id| ["--session", id.as_str()]))
        .env("TWIN_CA", &s.ca)
        .env("TWIN_MODELS_DIR", &s.models_dir)
        .stdout(Stdio::piped());
    let mut asking = ask
        .spawn()
        .with_context(|| format!("cannot start {ask:?}"))?;
    transcript.push_str(&format!("\n[spoken, in {}]\n", client.name()));
    for line in BufReader::new(asking.stdout.take().context("no stdout")?).lines() {
        let line = line?;
        println!("{line}");
        transcript.push_str(&line);
        transcript.push('\n');
    }
    let status = asking.wait()?;
    if !status.success() {
        bail!("the spoken question in {} failed ({status})", client.name());
    }
    std::fs::write(out.join("transcript.txt"), &transcript)?;
    drop(server);
    step(
        "the twin speaking its replies, rendered (Vulkan; lavapipe on the CPU where there is no GPU)",
    );
    let avatar = s.models_dir.join("avatars/owen-marsh.glb");
    let mut replies: Vec<PathBuf> = std::fs::read_dir(&speech)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .collect();
    // The answer to the spoken question (saved where it was not seen live).
    replies.extend(
        std::fs::read_dir(&voice)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "wav")),
    );
    replies.sort();
    for wav in &replies {
        let stem = wav.with_extension("");
        run(Command::new(bin.join("twin"))
            .args([
                "render", "--fps", "25", "--width", "360", "--height", "480", "--avatar",
            ])
            .arg(&avatar)
            .arg("--lipsync")
            .arg(stem.with_extension("lipsync.json"))
            .arg("--audio")
            .arg(wav)
            .arg("--out")
            .arg(stem.with_extension("frames")))?;
    }
    println!(
        "\nThe transcript is in {}; the conversation is stored in {}; the twin's spoken replies are in {} (typed questions) and {} (the spoken one, {}): WAV, lip-sync track, plot, and the rendered frames (an MP4 too where ffmpeg is installed).",
        out.join("transcript.txt").display(),
        out.join("demo.db").display(),
        speech.display(),
        voice.display(),
        question.display()
    );
    println!(
        "The person the twin stands for reviews what it said, corrects it and tries it at \
         https://localhost:7878/console while `cargo run -p twin-server -- serve --config assets/config/demo.toml` \
         runs (review token {DEMO_REVIEW_TOKEN}; docs/review.md)."
    );
    if let Some(first) = replies.first() {
        println!(
            "Watch the first in a window: cargo run -p twin -- desktop --audio {} --lipsync {}",
            first.display(),
            first.with_extension("lipsync.json").display()
        );
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ClientKind {
    Headset,
    Desktop,
    Headless,
}

/// The best client this machine can show the twin in, and why.
struct Client {
    kind: ClientKind,
    why: String,
}

impl Client {
    /// The `twin` command that says `question` (a WAV) in this client; headless, the twin's spoken replies
    /// are saved in `voice` (the speaker is tried first) and it gives up after `seconds`.
    fn asking(&self, twin: &Path, question: &Path, voice: &Path, seconds: u32) -> Command {
        let mut c = Command::new(twin);
        match self.kind {
            ClientKind::Headset => c.args(["headset", "--input"]).arg(question),
            ClientKind::Desktop => c.args(["desktop", "--input"]).arg(question),
            ClientKind::Headless => c
                .args(["talk", "--seconds", &seconds.to_string(), "--input"])
                .arg(question)
                .arg("--speech")
                .arg(voice),
        };
        c
    }

    /// In the headset where an OpenXR runtime answers (`twin xr probe`), else in a window where there is a
    /// display, else headless (frames, audio and transcript written to out/). TWIN_DEMO_CLIENT
    /// (headset|desktop|headless) overrides it.
    fn pick(twin: &Path) -> Client {
        let chosen = |kind, why: &str| Client {
            kind,
            why: why.to_string(),
        };
        match std::env::var("TWIN_DEMO_CLIENT").as_deref() {
            Ok("headset") => return chosen(ClientKind::Headset, "TWIN_DEMO_CLIENT"),
            Ok("desktop") => return chosen(ClientKind::Desktop, "TWIN_DEMO_CLIENT"),
            Ok("headless") => return chosen(ClientKind::Headless, "TWIN_DEMO_CLIENT"),
            _ => {}
        }
        let probe = Command::new(twin)
            .args(["xr", "probe", "--json"])
            .stderr(Stdio::null())
            .output();
        let runtime = match probe {
            Ok(o) if o.status.success() => {
                Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
            }
            Ok(o) => Err(format!("no OpenXR runtime ({})", o.status)),
            Err(e) => Err(format!("cannot probe OpenXR: {e}")),
        };
        let display = ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
        decide(runtime, display)
    }

    fn name(&self) -> &'static str {
        match self.kind {
            ClientKind::Headset => "the headset app",
            ClientKind::Desktop => "a desktop window",
            ClientKind::Headless => "headless",
        }
    }
}

fn decide(runtime: std::result::Result<String, String>, display: bool) -> Client {
    match (runtime, display) {
        (Ok(probe), _) => Client {
            kind: ClientKind::Headset,
            why: format!("OpenXR runtime: {probe}"),
        },
        (Err(no_xr), true) => Client {
            kind: ClientKind::Desktop,
            why: format!("{no_xr}; a display is set"),
        },
        (Err(no_xr), false) => Client {
            kind: ClientKind::Headless,
            why: format!("{no_xr}; no display"),
        },
    }
}

fn read_until_prompt(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> Result<usize> {
    let mut byte = [0u8; 1];
    let mut n = 0;
    loop {
        match std::io::Read::read(reader, &mut byte)? {
            0 => return Ok(n),
            _ => {
                buf.push(byte[0]);
                n += 1;
                if byte[0] == b'\n' || buf.ends_with(b"you: ") {
                    return Ok(n);
                }
            }
        }
    }
}

fn bench(root: &Path, args: &SetupArgs, questions: usize) -> Result<()> {
    let s = setup(root, args)?;
    step("build (release)");
    run(cargo().args([
        "build",
        "--release",
        "-p",
        "twin-server",
        "-p",
        "twin-bench",
        "-p",
        "twin",
    ]))?;
    let bin = target_dir(root).join("release");
    step("benchmarks");
    let mut cmd = Command::new(bin.join("twin-bench"));
    cmd.args([
        "--questions",
        &questions.to_string(),
        "--out",
        "BENCHMARKS.md",
        "--server-bin",
    ])
    .arg(bin.join("twin-server"))
    .arg("--twin-bin")
    .arg(bin.join("twin"))
    .env("TWIN_MODELS_DIR", &s.models_dir);
    if let Some(llama) = &s.llama_server {
        cmd.arg("--llama-server").arg(llama);
    }
    if let Some(monado) = &s.monado {
        cmd.arg("--monado-json").arg(monado);
    }
    run(&mut cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_picks_the_headset_then_a_window_then_headless() {
        let xr = || Ok::<_, String>("{\"runtime\":\"Monado\"}".to_string());
        let none = || Err::<String, _>("no OpenXR runtime".to_string());
        assert_eq!(decide(xr(), true).kind, ClientKind::Headset);
        assert_eq!(decide(xr(), false).kind, ClientKind::Headset);
        assert_eq!(decide(none(), true).kind, ClientKind::Desktop);
        assert_eq!(decide(none(), false).kind, ClientKind::Headless);
    }
}
