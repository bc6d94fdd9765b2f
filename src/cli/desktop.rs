//! `twin desktop`: the twin in a window, for showcases without a headset. With `--token` it talks (the
//! microphone or `--input WAV` to the server, the answer aloud with the mouth on its playback clock). Drag to orbit, scroll to come
//! closer, space to play the reply again, F to flag the twin's last reply and S to share the conversation
//! for the person's review (the window's title confirms), Esc to leave. The reply's audio plays through `kira`, and the
//! mouth follows that sound's playback position; with no sound device the reply plays silently on the wall
//! clock instead (said once, on stderr).

use anyhow::{Context, Result, anyhow};
use clap::Args;
use glam::{Quat, Vec3};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use twin::conversation::dialogue::Dialogue;
use twin_animate::{Animator, Inputs, Mode, MouthTrack, Speech};
use twin_render::window::WindowTarget;
use twin_render::{GpuContext, Renderer, View};
use twin_scene::AvatarScene;
use winit::application::ApplicationHandler;
use winit::dpi::PhysicalSize;
use winit::event::{ElementState, MouseButton, MouseScrollDelta, WindowEvent};
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop};
use winit::keyboard::{Key, NamedKey};
use winit::raw_window_handle::{HasDisplayHandle, HasWindowHandle};
use winit::window::{Window, WindowId};

#[derive(Args)]
pub struct DesktopArgs {
    /// The avatar (glb or gltf).
    #[arg(
        long,
        env = "TWIN_AVATAR",
        default_value = "models/avatars/owen-marsh.glb"
    )]
    pub avatar: PathBuf,
    /// A reply's audio (WAV) to play, with its lip-sync track (--lipsync).
    #[arg(long, requires = "lipsync")]
    pub audio: Option<PathBuf>,
    /// The lip-sync track of --audio (`twin say --lipsync`, or the .lipsync.json `twin chat --speech` saves).
    #[arg(long, requires = "audio")]
    pub lipsync: Option<PathBuf>,
    #[arg(long, default_value_t = 720)]
    pub width: u32,
    #[arg(long, default_value_t = 960)]
    pub height: u32,
    /// Leave after this many frames (0: when the window is closed).
    #[arg(long, default_value_t = 0)]
    pub frames: u64,
    /// Seed of the twin's blinks and glances.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON line when the first frames are on screen, and one with the figures at the end.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub live: crate::cli::connect::LiveArgs,
}

/// The reply's sound: kira's handle when there is a sound device, else the wall clock.
enum Playback {
    Kira(Box<Sound>),
    Silent { started: Instant },
}

struct Reply {
    track: MouthTrack,
    seconds: f64,
    playback: Playback,
}

impl Reply {
    fn load(audio: &std::path::Path, lipsync: &std::path::Path) -> Result<Reply> {
        let track = crate::cli::track::read(lipsync)?;
        let (rate, samples) = twin_voice::wav::read_mono(audio)?;
        let seconds = samples.len() as f64 / rate.max(1) as f64;
        let frames: Vec<kira::Frame> = samples.iter().map(|s| kira::Frame::from_mono(*s)).collect();
        let data = kira::sound::static_sound::StaticSoundData {
            sample_rate: rate,
            frames: frames.into(),
            settings: Default::default(),
            slice: None,
        };
        let playback = match kira::AudioManager::<kira::DefaultBackend>::new(Default::default()) {
            Ok(mut manager) => {
                let handle = manager
                    .play(data.clone())
                    .map_err(|e| anyhow!("cannot play the reply: {e}"))?;
                Playback::Kira(Box::new(Sound {
                    manager,
                    data,
                    handle,
                }))
            }
            Err(e) => {
                eprintln!(
                    "twin: no sound device ({e}); the reply plays silently on the wall clock"
                );
                Playback::Silent {
                    started: Instant::now(),
                }
            }
        };
        Ok(Reply {
            track,
            seconds,
            playback,
        })
    }

    /// Where playback is, in seconds of the reply: the sound's own clock when it is audible.
    fn position(&self) -> f64 {
        match &self.playback {
            Playback::Kira(sound) => sound.handle.position(),
            Playback::Silent { started } => started.elapsed().as_secs_f64(),
        }
    }

    fn restart(&mut self) {
        match &mut self.playback {
            Playback::Kira(sound) => {
                sound.handle.stop(Default::default());
                if let Ok(h) = sound.manager.play(sound.data.clone()) {
                    sound.handle = h;
                }
            }
            Playback::Silent { started } => *started = Instant::now(),
        }
    }

    fn audible(&self) -> bool {
        matches!(self.playback, Playback::Kira(_))
    }
}

struct Sound {
    manager: kira::AudioManager,
    data: kira::sound::static_sound::StaticSoundData,
    handle: kira::sound::static_sound::StaticSoundHandle,
}

/// What exists once the window does.
struct Live {
    window: Arc<Window>,
    renderer: Renderer,
    target: WindowTarget,
}

struct App {
    args: DesktopArgs,
    avatar: AvatarScene,
    animator: Animator,
    reply: Option<Reply>,
    /// The live conversation (`--token`).
    dialogue: Option<Dialogue>,
    /// In a room: remote people at their seats beside the twin.
    room_view: twin::headset::room_view::RoomView,
    live: Option<Live>,
    error: Option<anyhow::Error>,
    /// Orbit camera around the head: yaw, pitch (radians), distance (metres).
    orbit: (f32, f32, f32),
    head: Vec3,
    dragging: Option<(f64, f64)>,
    cursor: (f64, f64),
    frames: u64,
    last: Instant,
    started: Instant,
    first_frame_ms: Option<f64>,
    frame_ms: Vec<f64>,
    device: String,
    /// The window's title as last set (a flag's or share's confirmation shows there for a few seconds).
    title: String,
}

impl App {
    fn start(&mut self, event_loop: &ActiveEventLoop) -> Result<()> {
        let attributes = Window::default_attributes()
            .with_title("Twin")
            .with_inner_size(PhysicalSize::new(self.args.width, self.args.height));
        let window = Arc::new(
            event_loop
                .create_window(attributes)
                .context("cannot open a window (is DISPLAY set?)")?,
        );
        let display = window
            .display_handle()
            .context("no display handle")?
            .as_raw();
        let handle = window.window_handle().context("no window handle")?.as_raw();
        let (ctx, surface) = GpuContext::for_window(display, handle)?;
        let ctx = Arc::new(ctx);
        self.device = ctx.device_name.clone();
        let target = WindowTarget::new(ctx.clone(), surface)?;
        let mut renderer =
            Renderer::new(ctx, target.format, 1, ash::vk::ImageLayout::PRESENT_SRC_KHR)?;
        let mut target = target;
        let size = window.inner_size();
        target.configure(&renderer, size.width, size.height)?;
        self.avatar.attach(&mut renderer)?;
        self.live = Some(Live {
            window,
            renderer,
            target,
        });
        Ok(())
    }

    fn camera(&self) -> Vec3 {
        let (yaw, pitch, distance) = self.orbit;
        self.head
            + distance
                * Vec3::new(
                    yaw.sin() * pitch.cos(),
                    pitch.sin(),
                    yaw.cos() * pitch.cos(),
                )
    }

    fn frame(&mut self) -> Result<()> {
        let now = Instant::now();
        let dt = (now - self.last).as_secs_f32();
        self.last = now;
        let camera = self.camera();
        // In a room: the window's viewer is where the camera is (the twin's frame is the world here), the
        // others are drawn at their seats, and the twin turns to whoever it answers.
        let mut look_at = camera;
        if let Some(d) = self.dialogue.as_mut() {
            d.poll();
            let facing =
                Quat::from_rotation_arc(Vec3::NEG_Z, (self.head - camera).normalize_or_zero());
            let viewer = twin::headset::room_view::Viewer {
                head: (camera, facing),
                hands: [None, None],
            };
            let renderer = self.live.as_mut().map(|live| &mut live.renderer);
            let answering =
                self.room_view
                    .update(d, renderer, glam::Mat4::IDENTITY, &viewer, None)?;
            look_at = answering.unwrap_or(camera);
        }
        let input = if let Some(d) = &self.dialogue {
            let (mode, speech) = d.now();
            Inputs {
                mode,
                look_at: Some(look_at),
                speech: speech.map(|(track, seconds)| Speech { track, seconds }),
            }
        } else {
            let speech = self.reply.as_ref().map(|r| (r.position(), r));
            Inputs {
                mode: match speech {
                    Some((at, r)) if at <= r.seconds => Mode::Speaking,
                    _ => Mode::Listening,
                },
                look_at: Some(camera),
                speech: speech.map(|(seconds, r)| Speech {
                    track: &r.track,
                    seconds,
                }),
            }
        };
        let pose = self.animator.update(&self.avatar.rig, dt, &input);
        self.avatar.apply(pose);
        let Some(live) = &mut self.live else {
            return Ok(());
        };
        self.avatar.upload(&mut live.renderer)?;
        let extent = live.target.extent;
        let aspect = extent.width.max(1) as f32 / extent.height.max(1) as f32;
        let view = View::look_at(
            camera,
            self.head - Vec3::new(0.0, 0.05, 0.0),
            35f32.to_radians(),
            aspect,
        );
        if !live.target.render(&mut live.renderer, &[view])? {
            let size = live.window.inner_size();
            live.target
                .configure(&live.renderer, size.width, size.height)?;
            return Ok(());
        }
        self.frames += 1;
        if let Some(d) = self.dialogue.as_mut() {
            d.drawn();
            // The title says which keys flag and share, and confirms them.
            let c = &d.captions;
            let title = match (c.notice.is_empty(), c.hint.is_empty()) {
                (false, _) => format!("Twin: {}", c.notice),
                (true, false) => format!("Twin ({})", c.hint),
                (true, true) => "Twin".to_string(),
            };
            if title != self.title {
                live.window.set_title(&title);
                self.title = title;
            }
        }
        self.frame_ms.push(now.elapsed().as_secs_f64() * 1000.0);
        if self.first_frame_ms.is_none() {
            self.first_frame_ms = Some(self.started.elapsed().as_secs_f64() * 1000.0);
        }
        if self.args.json && self.frames == 10 {
            println!(
                "{}",
                serde_json::json!({"event": "on_screen", "frames": self.frames})
            );
        }
        Ok(())
    }
}

impl ApplicationHandler for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.live.is_none()
            && let Err(e) = self.start(event_loop)
        {
            self.error = Some(e);
            event_loop.exit();
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _id: WindowId, event: WindowEvent) {
        match event {
            WindowEvent::CloseRequested => event_loop.exit(),
            WindowEvent::KeyboardInput { event, .. } if event.state == ElementState::Pressed => {
                match event.logical_key {
                    Key::Named(NamedKey::Escape) => event_loop.exit(),
                    Key::Named(NamedKey::Space) => {
                        if let Some(r) = &mut self.reply {
                            r.restart();
                        }
                    }
                    Key::Character(c) if self.dialogue.is_some() => {
                        use twin::conversation::review::Ask;
                        let ask = match c.to_lowercase().as_str() {
                            "f" => Some(Ask::Flag),
                            "s" => Some(Ask::Share),
                            _ => None,
                        };
                        if let (Some(d), Some(ask)) = (self.dialogue.as_mut(), ask) {
                            d.ask(ask);
                        }
                    }
                    _ => {}
                }
            }
            WindowEvent::MouseInput {
                state,
                button: MouseButton::Left,
                ..
            } => {
                self.dragging = (state == ElementState::Pressed).then_some(self.cursor);
            }
            WindowEvent::CursorMoved { position, .. } => {
                self.cursor = (position.x, position.y);
                if let Some((x, y)) = self.dragging {
                    let (yaw, pitch, d) = self.orbit;
                    self.orbit = (
                        (yaw - (position.x - x) as f32 * 0.005).clamp(-2.5, 2.5),
                        (pitch + (position.y - y) as f32 * 0.005).clamp(-0.6, 0.8),
                        d,
                    );
                    self.dragging = Some(self.cursor);
                }
            }
            WindowEvent::MouseWheel { delta, .. } => {
                let lines = match delta {
                    MouseScrollDelta::LineDelta(_, y) => y,
                    MouseScrollDelta::PixelDelta(p) => p.y as f32 / 40.0,
                };
                self.orbit.2 = (self.orbit.2 * (1.0 - 0.1 * lines)).clamp(0.4, 4.0);
            }
            WindowEvent::Resized(size) => {
                if let Some(live) = &mut self.live
                    && let Err(e) = live
                        .target
                        .configure(&live.renderer, size.width, size.height)
                {
                    self.error = Some(e.into());
                    event_loop.exit();
                }
            }
            WindowEvent::RedrawRequested => {
                if let Err(e) = self.frame() {
                    self.error = Some(e);
                    event_loop.exit();
                } else if self.args.frames > 0 && self.frames >= self.args.frames {
                    event_loop.exit();
                }
                match self.dialogue.as_mut().and_then(|d| d.over.take()) {
                    Some(Ok(())) => event_loop.exit(),
                    Some(Err(reason)) => {
                        self.error = Some(anyhow!("the conversation stopped: {reason}"));
                        event_loop.exit();
                    }
                    None => {}
                }
            }
            _ => {}
        }
    }

    fn about_to_wait(&mut self, _event_loop: &ActiveEventLoop) {
        if let Some(live) = &self.live {
            live.window.request_redraw();
        }
    }
}

pub fn run(args: DesktopArgs) -> Result<()> {
    let started = Instant::now();
    let avatar = twin::avatar::load_scene(&args.avatar)?;
    let reply = match (&args.audio, &args.lipsync) {
        (Some(a), Some(l)) => Some(Reply::load(a, l)?),
        _ => None,
    };
    let dialogue = args
        .live
        .start(concat!("twin-desktop/", env!("CARGO_PKG_VERSION")), false)?
        .map(|(conversation, _)| {
            let mut d = Dialogue::new(conversation);
            d.set_controls(twin::conversation::review::Controls::Keyboard);
            d
        });
    let head = avatar.face_centre();
    let mut animator = Animator::new(&avatar.rig, args.seed);
    // The file's own idle loop, where it has one, plays underneath.
    animator.set_clip(twin_animate::Clip::idle(&avatar.loaded)?);
    let event_loop = EventLoop::new().context("cannot reach the display (is DISPLAY set?)")?;
    event_loop.set_control_flow(ControlFlow::Poll);
    let json = args.json;
    let mut app = App {
        args,
        avatar,
        animator,
        reply,
        dialogue,
        room_view: Default::default(),
        live: None,
        error: None,
        orbit: (0.0, 0.05, 1.1),
        head,
        dragging: None,
        cursor: (0.0, 0.0),
        frames: 0,
        last: Instant::now(),
        started,
        first_frame_ms: None,
        frame_ms: Vec::new(),
        device: String::new(),
        title: "Twin".to_string(),
    };
    event_loop
        .run_app(&mut app)
        .context("the window's event loop failed")?;
    // The GPU objects go before the event loop's display connection.
    let audible = app.reply.as_ref().map(Reply::audible);
    let played = app.reply.as_ref().map(Reply::position);
    app.live = None;
    let dialogue = app.dialogue.take().map(|d| d.finish());
    if let Some(e) = app.error {
        return Err(e);
    }
    let mean = app.frame_ms.iter().sum::<f64>() / app.frame_ms.len().max(1) as f64;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "event": "done",
                "frames": app.frames,
                "device": app.device,
                "first_frame_ms": app.first_frame_ms,
                "mean_frame_ms": mean,
                "audio": audible.map(|a| if a { "kira" } else { "silent" }),
                "played_seconds": played,
                "dialogue": dialogue,
            })
        );
    } else {
        eprintln!(
            "{} frames on {} (first after {:.0} ms, {mean:.1} ms each)",
            app.frames,
            app.device,
            app.first_frame_ms.unwrap_or(0.0)
        );
        if let Some(d) = &dialogue {
            for turn in &d.turns {
                println!("you: {turn}");
            }
            for reply in &d.replies {
                println!("twin: {} {:?}", reply.text, reply.citations);
            }
        }
    }
    Ok(())
}
