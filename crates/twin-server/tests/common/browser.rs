//! Headless Chromium driven over WebDriver (chromedriver on loopback), for the review console's browser tests:
//! a real browser submits the real forms, so cookies, redirects and scripts behave as they do for a person.

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
// Plain HTTP to chromedriver: the server's own hyper-util, whose client half fantoccini turns on.
use hyper_util::client::legacy::connect::HttpConnector;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What to install when a binary is missing (the packages `cargo xtask setup --with-test-tools` installs).
const INSTALL: &str =
    "apt-get install chromium chromium-driver (or run `cargo xtask setup --with-test-tools`)";
/// How long a page element may take to appear: long enough for a slow CI machine, short enough to fail fast.
const ELEMENT_WAIT: Duration = Duration::from_secs(10);
/// chromedriver answers in well under a second here; a loaded machine gets more.
const DRIVER_WAIT: Duration = Duration::from_secs(30);

/// One headless Chromium and the chromedriver that drives it, each test its own (a fresh profile, no state
/// shared between tests).
pub struct Browser {
    /// The WebDriver session, for anything the helpers below don't cover.
    pub client: Client,
    driver: Driver,
}

/// The chromedriver process, owned from the moment it starts so that a panic at any point stops it.
struct Driver {
    child: Child,
    port: u16,
    /// chromedriver's log and the browser's profile, deleted with the driver.
    dir: tempfile::TempDir,
}

/// What a test checks about a cookie the server set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieInfo {
    pub name: String,
    pub http_only: bool,
    pub secure: bool,
    /// "Strict", "Lax" or "None"; `None` when the cookie names no SameSite.
    pub same_site: Option<String>,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless Chromium session through it.
    pub async fn start() -> Browser {
        let driver_bin = find_binary("TWIN_CHROMEDRIVER", "/usr/bin/chromedriver", "chromedriver");
        let chromium = find_binary("TWIN_CHROMIUM", "/usr/bin/chromium", "chromium");
        let dir = tempfile::tempdir().expect("a temporary folder for the browser profile");
        let log = dir.path().join("chromedriver.log");
        let port = free_port();
        let child = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; {INSTALL}", driver_bin.display()));
        let mut driver = Driver { child, port, dir };
        driver.wait_until_ready().await;
        let caps = capabilities(&chromium, &driver.dir.path().join("profile"));
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => Browser { client, driver },
            Err(e) => driver.fail(&format!("cannot open a Chromium session: {e}")),
        }
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// The element `css` matches, waiting up to 10 s for it: pages render after scripts and redirects.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(ELEMENT_WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element matches `{css}` after {ELEMENT_WAIT:?}: {e}"))
    }

    /// Replaces the text in the field `css` with `text`, typed as keystrokes (so input events fire).
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.wait_for(css).await;
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("cannot clear `{css}`: {e}"));
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("cannot type into `{css}`: {e}"));
    }

    /// Clicks the element `css` as a person would (it must be visible and not covered).
    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click `{css}`: {e}"));
    }

    /// Clicks `css`, which leads to another page (a link, a form's button), and waits for that page to load:
    /// what a test reads next is the new page, never the one it left.
    pub async fn click_to_load(&self, css: &str) {
        let mark = "window.__twin_left = true";
        self.client
            .execute(mark, vec![])
            .await
            .unwrap_or_else(|e| panic!("cannot mark the page before clicking `{css}`: {e}"));
        self.click(css).await;
        let deadline = Instant::now() + ELEMENT_WAIT;
        loop {
            let loaded = self
                .client
                .execute(
                    "return window.__twin_left !== true && document.readyState === 'complete'",
                    vec![],
                )
                .await
                .map(|v| v == serde_json::Value::Bool(true))
                .unwrap_or(false);
            if loaded {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "clicking `{css}` loaded no new page after {ELEMENT_WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The rendered text of the element `css` (what a person reads, not the markup).
    pub async fn text_of(&self, css: &str) -> String {
        self.wait_for(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("cannot read the text of `{css}`: {e}"))
    }

    /// The whole page's rendered text (body.innerText): hidden elements left out, as a person sees it.
    pub async fn page_text(&self) -> String {
        let text = self
            .client
            .execute(
                "return document.body ? document.body.innerText : '';",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("cannot read the page's text: {e}"));
        text.as_str()
            .expect("body.innerText is a string")
            .to_owned()
    }

    /// Sizes the page's viewport to `width`x`height` CSS pixels, to see (and screenshot) the page as a phone or a
    /// laptop shows it. WebDriver sizes the whole window, so the browser's own frame is measured and added.
    pub async fn resize(&self, width: u32, height: u32) {
        self.set_window(width, height).await;
        let inner = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .unwrap_or_else(|e| panic!("cannot read the viewport's size: {e}"));
        let frame = |i: usize, outer: u32| {
            let inner = inner[i].as_u64().expect("the viewport's size is a number");
            outer.saturating_sub(u32::try_from(inner).unwrap_or(outer))
        };
        let (frame_w, frame_h) = (frame(0, width), frame(1, height));
        if (frame_w, frame_h) != (0, 0) {
            self.set_window(width + frame_w, height + frame_h).await;
        }
    }

    async fn set_window(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|e| panic!("cannot resize the window to {width}x{height}: {e}"));
    }

    /// Saves the page as `<target>/console/<name>.png` (kept after the test, for people to look at) and returns
    /// its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("cannot take the screenshot {name}: {e}"));
        let dir = target_dir().join("console");
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    /// The cookies the current page's site has set, with the attributes the console's security relies on.
    pub async fn cookies(&self) -> Vec<CookieInfo> {
        let cookies = self
            .client
            .get_all_cookies()
            .await
            .unwrap_or_else(|e| panic!("cannot read the cookies: {e}"));
        cookies
            .iter()
            .map(|c| CookieInfo {
                name: c.name().to_owned(),
                http_only: c.http_only().unwrap_or(false),
                secure: c.secure().unwrap_or(false),
                same_site: c.same_site().map(|s| s.to_string()),
            })
            .collect()
    }

    /// Ends the session (Chromium quits) and stops chromedriver.
    pub async fn close(self) {
        let Browser { client, driver } = self;
        client.close().await.expect("closing the browser session");
        drop(driver);
    }
}

impl Driver {
    /// Polls chromedriver's /status until it says ready: it listens a moment after it starts.
    async fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + DRIVER_WAIT;
        while !driver_ready(self.port).await {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.fail(&format!("chromedriver exited at start ({status})"));
            }
            if Instant::now() > deadline {
                self.fail(&format!("chromedriver not ready after {DRIVER_WAIT:?}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Panics with chromedriver's log (the panic drops the browser, which stops chromedriver).
    fn fail(&self, what: &str) -> ! {
        let log =
            std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default();
        let start = (log.len().saturating_sub(4000)..log.len())
            .find(|&i| log.is_char_boundary(i))
            .unwrap_or(0);
        let tail = &log[start..];
        panic!("{what}; chromedriver's log ends:\n{tail}");
    }
}

impl Drop for Driver {
    /// Stops chromedriver even when a test panicked before `close`: `/shutdown` has it quit its browsers first
    /// (a killed chromedriver would leave Chromium running), then the process is killed and reaped.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            shutdown_driver(self.port);
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The WebDriver capabilities: headless Chromium from `chromium`, sized like a laptop, with its own profile.
/// The test server's certificate comes from the demo CA, which this browser doesn't trust.
fn capabilities(chromium: &Path, profile: &Path) -> fantoccini::wd::Capabilities {
    let caps = serde_json::json!({
        "browserName": "chrome",
        "acceptInsecureCerts": true,
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--disable-gpu",
                "--ignore-certificate-errors",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    });
    match caps {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("the capabilities are a JSON object"),
    }
}

/// `env`, else `default`, else `name` on PATH; panics naming the packages to install.
fn find_binary(env: &str, default: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{env}={} is not a file: {INSTALL}",
            path.display()
        );
        return path;
    }
    let on_path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect())
        .unwrap_or_default();
    std::iter::once(PathBuf::from(default))
        .chain(on_path)
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} not found ({env}, {default}, PATH): {INSTALL}"))
}

/// A loopback port nothing listens on: the system picks one, and it is free again once the socket drops.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port on 127.0.0.1 for chromedriver");
    listener
        .local_addr()
        .expect("the listener's address")
        .port()
}

/// Whether chromedriver on `port` answers /status with `"ready": true`.
async fn driver_ready(port: u16) -> bool {
    let Ok(mut socket) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let request =
        format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    // chromedriver keeps the connection open whatever the request asks, so read only until the answer shows.
    let exchange = async {
        socket.write_all(request.as_bytes()).await?;
        let (mut response, mut chunk) = (Vec::new(), [0u8; 1024]);
        loop {
            let n = socket.read(&mut chunk).await?;
            response.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&response).replace(' ', "");
            if n == 0 || text.contains("\"ready\":") {
                return std::io::Result::Ok(text.contains("\"ready\":true"));
            }
        }
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), exchange).await,
        Ok(Ok(true))
    )
}

/// Asks chromedriver to quit its browsers and exit (blocking: it runs in `Drop`, perhaps while unwinding).
fn shutdown_driver(port: u16) {
    let Ok(mut socket) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    let _ = socket.set_read_timeout(Some(Duration::from_secs(5)));
    let request =
        format!("GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if socket.write_all(request.as_bytes()).is_ok() {
        let _ = socket.read_to_end(&mut Vec::new());
    }
}

/// `$CARGO_TARGET_DIR`, else the workspace's `target` (a relative CARGO_TARGET_DIR is taken from the
/// workspace root, where cargo runs).
fn target_dir() -> PathBuf {
    let root = super::workspace_root();
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |dir| root.join(dir))
}
