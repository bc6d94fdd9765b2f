//! What the command-line tests share: where the project and its models are, and the `twin` binary to run.
// Each test binary uses its own subset of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use twin_testkit::{models_dir as models, output_within, workspace_root as root};

/// `twin` run from the project root with the models set up.
pub fn twin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_twin"));
    c.env("TWIN_MODELS_DIR", models()).current_dir(root());
    c
}

/// Runs `c` with `--json` and returns the object it printed; a failure shows its stderr.
pub fn run_json(c: &mut Command) -> serde_json::Value {
    let out = output_within(c.arg("--json"), Duration::from_secs(600));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A virtual X display, gone when dropped; `.1` is its number.
pub struct Xvfb(pub Child, pub u32);

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn xvfb() -> Xvfb {
    let n = 100 + std::process::id() % 400;
    let child = Command::new("Xvfb")
        .arg(format!(":{n}"))
        .args(["-screen", "0", "800x1000x24", "-nolisten", "tcp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb (apt install xvfb; cargo xtask setup does)");
    let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
    let started = Instant::now();
    while !socket.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "Xvfb did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Xvfb(child, n)
}

/// The root window through `xwd`, as RGB rows.
pub fn screenshot(display: u32) -> (u32, u32, Vec<[u8; 3]>) {
    let out = Command::new("xwd")
        .args(["-root", "-silent", "-display", &format!(":{display}")])
        .output()
        .expect("xwd (apt install x11-apps)");
    assert!(out.status.success(), "xwd failed");
    let b = out.stdout;
    let field = |i: usize| u32::from_be_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
    let (header, width, height) = (field(0) as usize, field(4), field(5));
    let (byte_order, bpp, stride) = (field(7), field(11), field(12) as usize);
    let (red, green, blue, ncolors) = (field(14), field(15), field(16), field(19) as usize);
    assert_eq!(bpp, 32, "a 24-bit screen stores 32-bit pixels");
    let data = &b[header + ncolors * 12..];
    let channel = |p: u32, mask: u32| ((p & mask) >> mask.trailing_zeros()) as u8;
    let mut pixels = Vec::with_capacity((width * height) as usize);
    for y in 0..height as usize {
        for x in 0..width as usize {
            let at = y * stride + x * 4;
            let bytes = [data[at], data[at + 1], data[at + 2], data[at + 3]];
            let p = if byte_order == 0 {
                u32::from_le_bytes(bytes)
            } else {
                u32::from_be_bytes(bytes)
            };
            pixels.push([channel(p, red), channel(p, green), channel(p, blue)]);
        }
    }
    (width, height, pixels)
}

pub fn write_png(path: &Path, width: u32, height: u32, pixels: &[[u8; 3]]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut e = png::Encoder::new(std::fs::File::create(path).unwrap(), width, height);
    e.set_color(png::ColorType::Rgb);
    e.set_depth(png::BitDepth::Eight);
    let data: Vec<u8> = pixels.iter().flatten().copied().collect();
    e.write_header().unwrap().write_image_data(&data).unwrap();
}

/// A twin-server in this test process (the demo persona, the embedded LLM, greedy, at most `max_tokens` a
/// reply) accepting `token`; returns its session URL. It runs until the test binary ends.
pub fn start_server(token: &str, max_tokens: u32) -> String {
    let server = TestServer::start(token, max_tokens);
    let url = server.url.clone();
    std::mem::forget(server);
    url
}

/// [`start_server`] over TLS, with a CA of its own: returns the `wss://` URL and the CA file to trust.
pub fn start_tls_server(token: &str, max_tokens: u32) -> (String, std::path::PathBuf) {
    let mut server = TestServer::start(token, max_tokens);
    let dir = tempfile::tempdir().unwrap().keep();
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let (pki, _) = twin_tls::make_demo_pki(&dir, &names).unwrap();
    server.config.server.tls = Some(twin_server::config::TlsConfig {
        cert: pki.cert,
        key: pki.key,
    });
    server.restart();
    let url = server.url.clone();
    std::mem::forget(server);
    (url, pki.ca)
}

/// A twin-server that can be stopped and started again on the same address and store, as a restarted
/// server would be.
pub struct TestServer {
    pub url: String,
    addr: Option<std::net::SocketAddr>,
    config: twin_server::Config,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestServer {
    pub fn start(token: &str, max_tokens: u32) -> TestServer {
        let dir = tempfile::tempdir().unwrap().keep();
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nstore = \"{}\"\nmodels_dir = \"{}\"\npersonas = [\"{}\"]\n\
             [auth]\ndemo = true\n[[auth.tokens]]\nname = \"cli\"\ntoken = \"{token}\"\nrooms = [\"meeting\"]\n[llm]\nbackend = \"embedded\"\nmax_tokens = {max_tokens}\ntemperature = 0.0\n\
             [limits]\nturns_per_minute = 1000000\nconnections_per_token = 1000\n",
            dir.join("t.db").display(),
            models().display(),
            root().join("assets/personas/owen-marsh").display()
        );
        let config = twin_server::Config::parse(&dir.join("s.toml"), &text).unwrap();
        let mut server = TestServer {
            url: String::new(),
            addr: None,
            config,
            runtime: None,
        };
        server.restart();
        server
    }

    /// Drops every connection and the listening socket at once, as a crash would.
    pub fn stop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }

    /// Starts it (again): the same address, the same store.
    pub fn restart(&mut self) {
        self.stop();
        let state = twin_server::AppState::load(self.config.clone())
            .expect("run `cargo xtask setup` first: the server needs the models");
        let rt = tokio::runtime::Runtime::new().unwrap();
        let at = self
            .addr
            .map_or("127.0.0.1:0".to_string(), |a| a.to_string());
        let listener = rt
            .block_on(tokio::net::TcpListener::bind(&at))
            .unwrap_or_else(|e| panic!("cannot listen on {at} again: {e}"));
        let addr = listener.local_addr().unwrap();
        rt.spawn(async move { twin_server::serve_on(listener, state).await });
        self.addr = Some(addr);
        let scheme = if self.config.server.tls.is_some() {
            "wss"
        } else {
            "ws"
        };
        self.url = format!("{scheme}://{addr}/v1/session");
        self.runtime = Some(rt);
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The voice that says the tests' spoken questions: Piper's neural voice. espeak-ng's formant voice is no
/// yardstick for recognition (issue 19): Moonshine hears "What is the plan for the warehouse robots next year?"
/// from it right at 22 kHz and as "the way we have robot" once resampled to 16 kHz.
pub const TEST_VOICE: &str = "piper:en_US-joe-medium";

/// `text` said in [`TEST_VOICE`] (through `twin say`) into a WAV at `path`.
pub fn spoken_wav(path: &std::path::Path, text: &str) {
    let o = twin()
        .args(["say", text, "--voice", TEST_VOICE, "--out"])
        .arg(path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `seconds` of silence, 16 kHz mono 16-bit, as a WAV at `path`.
pub fn silence_wav(path: &Path, seconds: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for _ in 0..16_000 * seconds {
        w.write_sample(0i16).unwrap();
    }
    w.finalize().unwrap();
}

/// Someone in `room` on the link itself (a script, no client program), on a thread of its own: joins with
/// `token` and hands the connected link to `script`, whose result the thread returns.
pub fn in_room<T, F, Fut>(
    url: &str,
    token: &'static str,
    room: &'static str,
    client: &'static str,
    audio: Option<twin_protocol::AudioRequest>,
    remote: bool,
    script: F,
) -> std::thread::JoinHandle<T>
where
    T: Send + 'static,
    F: FnOnce(twin::link::Link) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
{
    let url = url.to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let target = twin::link::Target {
                room: Some(room.to_string()),
                remote,
                ..twin::link::Target::new(url, token)
            };
            let hello = twin::link::Hello {
                target: &target,
                session_id: None,
                client,
                audio,
                instance: None,
            };
            script(twin::link::Link::connect(hello).await.unwrap()).await
        })
    })
}
