//! The headset app's long-lived parts (the runtime, its session, the renderer, the twin's scene and animator,
//! the conversation) and its frame, which hands each concern to a small system: [`Placer`] and
//! [`SharedSpot`] place the twin, [`gaze::looked_at`] notices mutual gaze, [`RoomView`] shows the others,
//! [`CaptionsView`] the captions, [`FrameStats`] counts. View poses are the session's, fetched when it
//! records the frame.

use super::align::{Aligner, Marks, SharedSpot};
use super::captions::{self, CaptionsView};
use super::placer::Placer;
use super::room_view::{RoomView, Viewer};
use super::stats::FrameStats;
use super::{CAPTIONS, EYE_HEIGHT_M, FLOOR, Options, Report, floor, placement};
use crate::conversation::dialogue::{Captions, Dialogue};
use crate::conversation::review::Controls;
use anyhow::Result;
use glam::{Mat4, Quat, Vec3};
use std::time::Instant;
use twin_animate::{Animator, Inputs, Mode, Speech};
use twin_render::Renderer;
use twin_scene::AvatarScene;
use twin_xr::Runtime;
use twin_xr::runtime::Probe;
use twin_xr::session::{COLOR_FORMAT, Step, XrSession};

/// What the app was asked for that frames read.
struct Asked {
    frames: Option<u64>,
    align: bool,
    voice: Option<std::sync::Arc<std::sync::Mutex<crate::voice::spatial::SpatialVoice>>>,
}

/// Fields drop in order: the session's images before the renderer, the renderer before the GPU context they
/// share, the runtime last.
pub(super) struct HeadsetApp {
    session: XrSession,
    renderer: Renderer,
    scene: AvatarScene,
    runtime: Runtime,
    animator: Animator,
    dialogue: Option<Dialogue>,
    stats: FrameStats,
    placer: Placer,
    shared: SharedSpot,
    aligner: Aligner,
    marks: Option<Marks>,
    room_view: RoomView,
    captions: CaptionsView,
    /// The twin's model → world and its distance from the head on the floor, once placed.
    placement: Option<(Mat4, f32)>,
    looked_at_frames: u64,
    shown_controls: Controls,
    asked: Asked,
    probe: Probe,
    device: String,
    floor_is_known: bool,
    face_in_model: Vec3,
    twin_height_m: f32,
    last: Instant,
    exit_asked: bool,
    failed: Option<String>,
}

impl HeadsetApp {
    pub(super) fn new(runtime: Runtime, launched: Instant, options: Options) -> Result<HeadsetApp> {
        let probe = runtime.probe()?;
        let ctx = twin_xr::vulkan::create_context(&runtime)?;
        let mut scene = crate::avatar::load_scene(&options.avatar)?;
        let mut renderer = Renderer::new(
            ctx.clone(),
            COLOR_FORMAT,
            2,
            ash::vk::ImageLayout::COLOR_ATTACHMENT_OPTIMAL,
        )?;
        scene.attach(&mut renderer)?;
        let (low, high) = scene.bounds();
        let mut animator = Animator::new(&scene.rig, options.seed);
        animator.set_clip(twin_animate::Clip::idle(&scene.loaded)?);
        let session = XrSession::new(&runtime, ctx.clone())?;
        // A stage space is the room's own frame: a spot in it means the same place next time.
        let stage = session.space_kind == "stage";
        let room = stage.then(|| format!("{} | {} | stage", probe.runtime, probe.system));
        let store = options.placements.map(placement::Store::new);
        Ok(HeadsetApp {
            floor_is_known: stage,
            face_in_model: scene.face_centre(),
            twin_height_m: high.y - low.y,
            device: ctx.device_name.clone(),
            session,
            renderer,
            scene,
            runtime,
            animator,
            dialogue: options.conversation.map(Dialogue::new),
            stats: FrameStats::new(launched),
            placer: Placer::new(store, room),
            shared: SharedSpot::default(),
            aligner: Aligner::default(),
            marks: options.marks,
            room_view: RoomView::default(),
            captions: CaptionsView::new(),
            placement: None,
            looked_at_frames: 0,
            shown_controls: Controls::None,
            asked: Asked {
                frames: options.frames,
                align: options.align,
                voice: options.voice,
            },
            probe,
            last: Instant::now(),
            exit_asked: false,
            failed: None,
        })
    }

    /// One frame; `on_frame` hears the count of frames drawn after each one. False once the session ended.
    pub(super) fn frame(&mut self, on_frame: &mut dyn FnMut(u64)) -> Result<bool> {
        let began = Instant::now();
        let dt = (began - self.last).as_secs_f32();
        self.last = began;
        let head = self.session.head();
        if let Some(head) = head {
            self.place(head)?;
        }
        self.place_voice(head);
        let face = self
            .placement
            .map(|(world, _)| world.transform_point3(self.face_in_model));
        let looking = super::gaze::looked_at(self.session.gaze(), face);
        self.animator.set_user_looking(looking);
        self.looked_at_frames += u64::from(looking == Some(true));
        self.converse();
        let answering = self.room(head)?;
        // The twin looks at whoever it answers; else at this user.
        let look_at = match (self.placement, head) {
            (Some((world, _)), Some((position, _))) => {
                answering.or(Some(world.inverse().transform_point3(position)))
            }
            _ => None,
        };
        self.show_captions()?;
        self.animate(dt, look_at)?;
        let app_ms = began.elapsed().as_secs_f64() * 1000.0;
        match self.session.step(&self.runtime, &mut self.renderer)? {
            Step::Drew => {
                self.stats.drew(app_ms, Instant::now());
                on_frame(self.stats.frames);
                if let Some(d) = self.dialogue.as_mut() {
                    d.drawn();
                }
            }
            Step::Skipped => self.stats.skipped += 1,
            Step::Idle => std::thread::sleep(std::time::Duration::from_millis(10)),
            Step::Exit => return Ok(false),
        }
        self.ask_exit_when_done()?;
        Ok(true)
    }

    /// Where the twin stands this frame: aligning, dragging, the room's shared spot.
    fn place(&mut self, (position, orientation): (Vec3, Quat)) -> Result<()> {
        let floor = if self.floor_is_known {
            0.0
        } else {
            position.y - EYE_HEIGHT_M
        };
        // Aligning: the hands touch the marks and do not drag.
        if self.asked.align && self.marks.is_none() {
            self.marks = self.aligner.step(self.session.pointers(), floor);
        }
        let aligning = self.asked.align && self.marks.is_none();
        let pointers = self.session.pointers();
        let moved = self
            .placer
            .update((position, orientation), pointers, floor, aligning);
        // Only once in the room: the room's spot, if it has one, comes before its roster.
        if let (Some(marks), Some(d), Some(spot)) =
            (self.marks, self.dialogue.as_mut(), self.placer.spot)
            && d.room.me.is_some()
        {
            let room = (d.room.placed_count, d.room.placed);
            let (at, send) = self.shared.update(marks, room, spot, moved, floor);
            self.placer.spot = Some(at);
            if let Some(spot) = send {
                d.send_place(spot);
            }
        }
        if let Some(spot) = self.placer.spot {
            self.stand(spot.world(floor), spot.distance(position))?;
        }
        Ok(())
    }

    /// The twin at `world`: the renderer's placement, and the panels that go with it.
    fn stand(&mut self, world: Mat4, distance: f32) -> Result<()> {
        self.renderer.placement = world;
        match self.placement {
            Some((was, _)) if was != world => {
                self.renderer
                    .move_panel(CAPTIONS, world * captions::beside_the_twin());
                self.renderer.move_panel(FLOOR, floor::under(world));
            }
            // First placed: the floor under it, unless the real room shows.
            None if !self.session.sees_room() => {
                let picture = floor::picture();
                self.renderer.set_panel(
                    FLOOR,
                    Some(twin_render::PanelData {
                        image: twin_render::TextureData {
                            width: floor::SIZE_PX,
                            height: floor::SIZE_PX,
                            rgba: &picture,
                        },
                        world: floor::under(world),
                    }),
                )?;
            }
            _ => {}
        }
        self.placement = Some((world, distance));
        Ok(())
    }

    /// The listener follows the head, the twin's voice its mouth (just under the face's centre).
    fn place_voice(&self, head: Option<(Vec3, Quat)>) {
        if let (Some(voice), Some((world, _)), Some((position, orientation))) =
            (&self.asked.voice, self.placement, head)
        {
            let mouth = world.transform_point3(self.face_in_model - Vec3::new(0.0, 0.05, 0.0));
            crate::sync::lock(voice).place(position, orientation, mouth);
        }
    }

    /// The conversation's turn: the buttons flag the last reply and share the conversation (the panel says
    /// which, and confirms), then what the server sent.
    fn converse(&mut self) {
        let Some(d) = self.dialogue.as_mut() else {
            return;
        };
        let controls = Controls::of_profile(self.session.profile());
        if controls != self.shown_controls {
            self.shown_controls = controls;
            d.set_controls(controls);
        }
        let buttons = self.session.buttons();
        d.press(buttons.flag, buttons.share);
        d.poll();
    }

    /// In a room: this user out, the others in. Where the one the twin answers is, if someone here.
    fn room(&mut self, head: Option<(Vec3, Quat)>) -> Result<Option<Vec3>> {
        let (Some(d), Some((world, _)), Some(head)) =
            (self.dialogue.as_mut(), self.placement, head)
        else {
            return Ok(None);
        };
        let viewer = Viewer {
            head,
            hands: self.session.pointers(),
        };
        let voice = self.asked.voice.as_deref();
        Ok(self
            .room_view
            .update(d, Some(&mut self.renderer), world, &viewer, voice)?)
    }

    fn show_captions(&mut self) -> Result<()> {
        let Some((world, _)) = self.placement else {
            return Ok(());
        };
        let offline = Captions::default();
        let (captions, cue) = match &self.dialogue {
            Some(d) if self.asked.align && self.marks.is_none() => {
                (&d.captions, self.aligner.cue())
            }
            Some(d) => (&d.captions, d.cue()),
            None => (&offline, "offline: no server (--token)"),
        };
        self.captions
            .update(&mut self.renderer, CAPTIONS, world, captions, cue)?;
        Ok(())
    }

    /// The twin's pose for this frame (listening, thinking or speaking, its mouth on the playback clock).
    fn animate(&mut self, dt: f32, look_at: Option<Vec3>) -> Result<()> {
        let (mode, speech) = self
            .dialogue
            .as_ref()
            .map_or((Mode::Listening, None), |d| d.now());
        let input = Inputs {
            mode,
            look_at,
            speech: speech.map(|(track, seconds)| Speech { track, seconds }),
        };
        let pose = self.animator.update(&self.scene.rig, dt, &input);
        self.scene.apply(pose);
        self.scene.upload(&mut self.renderer)?;
        Ok(())
    }

    /// The conversation over, or the frames asked for drawn: the runtime is asked to end the session.
    fn ask_exit_when_done(&mut self) -> Result<()> {
        let over = match self.dialogue.as_mut().and_then(|d| d.over.take()) {
            Some(Err(reason)) => {
                self.failed = Some(reason);
                true
            }
            Some(Ok(())) => true,
            None => false,
        };
        let drawn_enough = self.asked.frames.is_some_and(|n| self.stats.frames >= n);
        if !self.exit_asked && (over || drawn_enough) {
            self.session.request_exit()?;
            self.exit_asked = true;
        }
        Ok(())
    }

    /// What the run did; an error where the conversation failed.
    pub(super) fn finish(self) -> Result<Report> {
        let s = &self.session;
        let report = Report {
            runtime: format!("{} {}", self.probe.runtime, self.probe.runtime_version),
            device: self.device.clone(),
            space: s.space_kind,
            blend_mode: format!("{:?}", s.blend_mode()),
            backdrop: s.backdrop(),
            states: s.states.iter().map(|s| format!("{s:?}")).collect(),
            frames: self.stats.frames,
            skipped: self.stats.skipped,
            first_frame_ms: self.stats.first_frame_ms,
            frame_cpu_ms_p50: self.stats.cpu_ms(50.0),
            frame_cpu_ms_p95: self.stats.cpu_ms(95.0),
            over_90hz_budget: self.stats.over_90hz_budget(),
            display_hz: if s.timing.period_s > 0.0 {
                1.0 / s.timing.period_s
            } else {
                0.0
            },
            missed_refreshes: s.timing.missed,
            frames_per_s: self.stats.frames_per_s(),
            placed_at_m: self.placement.map(|(_, d)| d),
            spot: self.placer.spot,
            placed_from: self.placer.placed_from,
            moves: self.placer.moves,
            hands: s.has_hands(),
            review_buttons: s.has_buttons(),
            controller: s.profile().map(str::to_string),
            looked_at_frames: self.looked_at_frames,
            twin_height_m: self.twin_height_m,
            panel_updates: self.captions.updates,
            presences_drawn: self.room_view.most_drawn,
            marks: self.marks.map(|m| [m.a.to_array(), m.b.to_array()]),
            placed_by_room: self.shared.placed_by_room,
            places_shared: self.shared.places_shared,
            dialogue: None,
        };
        let HeadsetApp {
            session,
            renderer,
            dialogue,
            failed,
            ..
        } = self;
        let dialogue = dialogue.map(Dialogue::finish);
        drop(session);
        drop(renderer);
        if let Some(reason) = failed {
            anyhow::bail!("the conversation stopped: {reason}");
        }
        Ok(Report { dialogue, ..report })
    }
}
