//! The headset app on Meta Quest: Android's native activity starts here (`android_main`), reads the app's
//! settings (`twin.toml` in its files folder: the edge server's address and token), opens the OpenXR
//! runtime with the activity, and runs the same headset app as the desktop's `twin headset`, the
//! conversation included. On other systems this library is empty; `android/README.md` has the build.

#[cfg(target_os = "android")]
mod quest {
    use android_activity::{AndroidApp, MainEvent, PollEvent};
    use anyhow::{Context, Result};
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};
    use twin::conversation::{Source, live};
    use twin::voice::capture::MicCapture;
    use twin_listen::{Duplex, DuplexConfig, Listener, ListenerConfig};

    /// `twin.toml` in the app's files folder.
    #[derive(serde::Deserialize)]
    struct Settings {
        /// The edge server (`url`: `wss://…/v1/session`; `ca`: a CA certificate to trust besides the
        /// system's, relative to the files folder, as `cargo xtask setup` makes for the demo), the `token`,
        /// and `persona`, `room` and `remote` as the desktop's `--persona`, `--room` and `--remote`.
        #[serde(flatten)]
        target: twin::link::Target,
        /// In the room with others in the same physical room: touch the two floor marks first.
        #[serde(default)]
        align: bool,
        /// The avatar, relative to the files folder.
        #[serde(default = "default_avatar")]
        avatar: PathBuf,
    }

    fn default_avatar() -> PathBuf {
        PathBuf::from("models/avatars/owen-marsh.glb")
    }

    #[unsafe(no_mangle)]
    fn android_main(app: AndroidApp) {
        let files = app
            .external_data_path()
            .or_else(|| app.internal_data_path())
            .unwrap_or_else(|| PathBuf::from("/sdcard/Android/data/dev.twin.headset/files"));
        let headset = {
            let app = app.clone();
            let files = files.clone();
            std::thread::spawn(move || {
                if let Err(e) = run(&app, &files) {
                    // No terminal on a headset: the reason is left where `adb pull` finds it.
                    let _ = std::fs::write(files.join("twin-error.txt"), format!("{e:#}\n"));
                }
            })
        };
        // The activity's own events keep flowing (Android ends an app that stops reading them).
        let mut destroyed = false;
        while !destroyed && !headset.is_finished() {
            app.poll_events(Some(Duration::from_millis(100)), |event| {
                if let PollEvent::Main(MainEvent::Destroy) = event {
                    destroyed = true;
                }
            });
        }
        let _ = headset.join();
    }

    fn run(app: &AndroidApp, files: &Path) -> Result<()> {
        let launched = Instant::now();
        let path = files.join("twin.toml");
        let settings: Settings = toml::from_str(
            &std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        )
        .with_context(|| format!("{} is not the app's settings", path.display()))?;
        // SAFETY: the VM and activity pointers come from the running activity and outlive the runtime.
        let platform = unsafe {
            twin_xr::openxr::AndroidPlatformInfo::new(app.vm_as_ptr(), app.activity_as_ptr())
        };
        let runtime = twin_xr::Runtime::open_on("twin", &platform, true)?;
        let models = files.join("models");
        let listener = Listener::from_models(&models, 2, ListenerConfig::default())
            .context("cannot start speech recognition (push models/ to the app's files folder)")?;
        let mut target = settings.target;
        target.endpoint.ca = target.endpoint.ca.map(|ca| files.join(ca));
        let (conversation, voice) = live::start(live::Live {
            target,
            client: concat!("twin-quest/", env!("CARGO_PKG_VERSION")).into(),
            source: Source::Live(Box::new(
                MicCapture::open().context("no microphone (grant RECORD_AUDIO)")?,
            )),
            duplex: Duplex::new(Box::new(listener), DuplexConfig::default()),
            spatial: true,
            silent: false,
            reconnect_for: Duration::from_secs(300),
        })?;
        twin::headset::run_on(
            runtime,
            launched,
            twin::headset::Options {
                avatar: files.join(settings.avatar),
                seed: 7,
                frames: None,
                conversation: Some(conversation),
                voice,
                align: settings.align,
                marks: None,
                placements: Some(files.join("placements.json")),
            },
            &mut |_| {},
        )?;
        Ok(())
    }
}
