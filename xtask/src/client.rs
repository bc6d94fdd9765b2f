//! The client the demos show the twin in: the headset app where an OpenXR runtime answers, else a desktop
//! window where there is a display, else headless.

use std::path::Path;
use std::process::{Command, Stdio};

#[derive(Debug, Clone, Copy, PartialEq)]
enum ClientKind {
    Headset,
    Desktop,
    Headless,
}

/// The best client this machine can show the twin in, and why.
pub struct Client {
    kind: ClientKind,
    pub why: String,
}

impl Client {
    /// The `twin` command that says `question` (a WAV) in this client; headless, the twin's spoken replies
    /// are saved in `voice` (the speaker is tried first) and it gives up after `seconds`.
    pub fn asking(&self, twin: &Path, question: &Path, voice: &Path, seconds: u32) -> Command {
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
    pub fn pick(twin: &Path) -> Client {
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

    pub fn name(&self) -> &'static str {
        match self.kind {
            ClientKind::Headset => "the headset app",
            ClientKind::Desktop => "a desktop window",
            ClientKind::Headless => "headless",
        }
    }
}

/// The choice `pick` makes from what the OpenXR probe said and whether a display is set.
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
