//! The headset app: the twin standing life-size in the user's room through OpenXR. Long-lived parts (the
//! runtime, the GPU context the runtime made, the renderer, the avatar) live here; each frame the animator
//! poses the twin toward the user's head and the session draws both eyes at once.
//!
//! The twin is placed on the floor 1.2 m in front of where the user first looks, facing them; with a
//! conversation (`dialogue`) it listens, thinks and answers aloud, its mouth on the playback clock.

pub mod align;
pub mod captions;
pub mod floor;
pub mod placement;
pub mod presence;

/// The renderer's panel slots: the floor (where the room is not seen), the captions, then the others in a
/// room ([`presence::FIRST_SLOT`] on).
const FLOOR: usize = 0;
const CAPTIONS: usize = 1;

use anyhow::Result;
use glam::{Mat4, Quat, Vec3};
use std::time::Instant;
use twin_animate::{Animator, Inputs, Mode, Speech};
use twin_render::Renderer;
use twin_xr::Runtime;
use twin_xr::session::{COLOR_FORMAT, Step, XrSession};

/// Where the floor is assumed under the head when the runtime has no stage space.
const EYE_HEIGHT_M: f32 = 1.6;

pub struct Options {
    pub avatar: std::path::PathBuf,
    pub seed: u64,
    /// Leave after this many frames drawn (tests, benchmarks); `None`: until the runtime ends the session
    /// (or the conversation does).
    pub frames: Option<u64>,
    /// The conversation with the twin's server; without one the twin stands and listens.
    pub conversation: Option<crate::conversation::Conversation>,
    /// Where the twin's spot is kept per room (`None`: not kept).
    pub placements: Option<std::path::PathBuf>,
    /// Colocated in a room: touch the room's two floor marks first, and share the twin's spot through them.
    pub align: bool,
    /// The marks already known in this headset's tracking space (no touching).
    pub marks: Option<align::Marks>,
    /// The twin's voice in the room: the listener follows the head, the voice the twin's mouth.
    pub voice: Option<std::sync::Arc<std::sync::Mutex<crate::voice::spatial::SpatialVoice>>>,
}

/// What a run did, for `--json`, tests and benchmarks.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    pub runtime: String,
    pub device: String,
    pub space: &'static str,
    pub blend_mode: String,
    /// What is behind the twin: the real room (alpha blend, additive, passthrough) or a neutral room.
    pub backdrop: &'static str,
    pub states: Vec<String>,
    pub frames: u64,
    pub skipped: u64,
    /// From launch to the first frame with the twin drawn.
    pub first_frame_ms: Option<f64>,
    /// The app's own CPU time per frame (animation, upload, recording), p50 and p95.
    pub frame_cpu_ms_p50: f64,
    pub frame_cpu_ms_p95: f64,
    /// Frames whose own CPU time alone was over a 90 Hz frame (11.1 ms): they would miss on a 90 Hz headset.
    pub over_90hz_budget: usize,
    /// The runtime's display rate, and its refreshes that went by without a new frame from the app.
    pub display_hz: f64,
    pub missed_refreshes: u64,
    /// Frames drawn a second, from the first to the last.
    pub frames_per_s: f64,
    /// Where the twin was placed: its distance from the head on the floor (when placed), and its height.
    pub placed_at_m: Option<f32>,
    /// The spot it stood on at the end (reference space), and where it first came from: "in_front" of the
    /// user, or "kept" for this room.
    pub spot: Option<placement::Spot>,
    pub placed_from: Option<&'static str>,
    /// Drags that moved it, and whether the hands' actions were bound at all.
    pub moves: u32,
    pub hands: bool,
    /// Whether a controller's buttons flag the last reply and share the conversation (the runtime took
    /// their bindings), and the controller profile the runtime chose, if it did.
    pub review_buttons: bool,
    pub controller: Option<String>,
    /// Frames in which an eye tracker said the user looked at the twin's face (0 without one).
    pub looked_at_frames: u64,
    pub twin_height_m: f32,
    /// Times the caption panel's picture changed.
    pub panel_updates: u64,
    /// In a room: the most remote people drawn at once beside the twin.
    pub presences_drawn: usize,
    /// Colocated alignment: the marks as touched (tracking space), and the times the twin moved to the
    /// room's spot or sent its own.
    pub marks: Option<[[f32; 3]; 2]>,
    pub placed_by_room: u32,
    pub places_shared: u32,
    /// The conversation in the headset, when there was one.
    pub dialogue: Option<crate::conversation::dialogue::DialogueReport>,
}

/// Runs the app until the session ends; `on_frame` hears the count of frames drawn after each one.
pub fn run(options: Options, on_frame: &mut dyn FnMut(u64)) -> Result<Report> {
    let launched = Instant::now();
    run_on(Runtime::open("twin")?, launched, options, on_frame)
}

/// The same on a runtime opened by the caller (the Quest app opens it with Android's VM and activity).
pub fn run_on(
    runtime: Runtime,
    launched: Instant,
    options: Options,
    on_frame: &mut dyn FnMut(u64),
) -> Result<Report> {
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
    let face_in_model = scene.face_centre();
    // The voice comes from just under the face's centre.
    let mouth_in_model = face_in_model - Vec3::new(0.0, 0.05, 0.0);
    let mut looked_at_frames = 0u64;
    let mut animator = Animator::new(&scene.rig, options.seed);
    animator.set_clip(twin_animate::Clip::idle(&scene.loaded)?);
    let mut session = XrSession::new(&runtime, ctx.clone())?;
    let floor_is_known = session.space_kind == "stage";
    let mut placement: Option<(Mat4, f32)> = None;
    let mut spot: Option<placement::Spot> = None;
    let mut placed_from = None;
    let mut moves = 0u32;
    let mut dragging = false;
    // A stage space is the room's own frame: a spot in it means the same place next time.
    let room = (session.space_kind == "stage")
        .then(|| format!("{} | {} | stage", probe.runtime, probe.system));
    let store = options
        .placements
        .clone()
        .filter(|_| room.is_some())
        .map(placement::Store::new);
    let (mut frames, mut skipped, mut exit_asked) = (0u64, 0u64, false);
    let mut first_frame_ms = None;
    let (mut first_drawn, mut last_drawn): (Option<Instant>, Option<Instant>) = (None, None);
    let mut cpu_ms = Vec::new();
    let mut last = Instant::now();
    let mut dialogue = options
        .conversation
        .map(crate::conversation::dialogue::Dialogue::new);
    let mut panel = captions::CaptionPanel::new();
    if panel.is_none() {
        tracing::warn!(
            "no TrueType font (Debian: fonts-dejavu-core): the caption panel is not shown"
        );
    }
    let mut panel_updates = 0u64;
    let mut presences = presence::Presences::default();
    let mut presences_drawn = 0usize;
    let mut pose_sent_at: Option<Instant> = None;
    // Others' voices, each from where they are shown (where a sound device is).
    let mut voice_tracks: std::collections::HashMap<
        String,
        crate::voice::spatial::RemoteVoiceTrack,
    > = Default::default();
    let mut aligner = align::Aligner::default();
    let mut marks: Option<align::Marks> = options.marks;
    let (mut placed_seen, mut placed_by_room, mut places_shared) = (0u64, 0u32, 0u32);
    let mut panel_drawn_at: Option<Instant> = None;
    let mut shown_controls = crate::conversation::review::Controls::None;
    let offline = crate::conversation::dialogue::Captions::default();
    let mut failed = None;
    loop {
        let began = Instant::now();
        let dt = (began - last).as_secs_f32();
        last = began;
        let head = session.head();
        if let Some((position, orientation)) = head {
            let floor = if floor_is_known {
                0.0
            } else {
                position.y - EYE_HEIGHT_M
            };
            if spot.is_none() {
                let kept = store
                    .as_ref()
                    .zip(room.as_deref())
                    .and_then(|(s, r)| s.load(r));
                placed_from = Some(if kept.is_some() { "kept" } else { "in_front" });
                let placed =
                    kept.unwrap_or_else(|| placement::Spot::in_front(position, orientation));
                keep(&store, &room, placed);
                spot = Some(placed);
            }
            // Aligning: the hands touch the marks and do not drag.
            if options.align && marks.is_none() {
                marks = aligner.step(session.pointers(), floor);
            }
            let aligning = options.align && marks.is_none();
            let mut moved = false;
            // A grabbing hand drags it; letting go keeps the new spot.
            let grabbing = session
                .pointers()
                .into_iter()
                .flatten()
                .find(|p| p.grabbing && !aligning);
            match grabbing.and_then(|p| placement::drag_target(&p, floor, position)) {
                Some(target) => {
                    spot = Some(placement::Spot::facing(target, position));
                    dragging = true;
                }
                None if dragging && grabbing.is_none() => {
                    dragging = false;
                    moves += 1;
                    moved = true;
                    if let Some(s) = spot {
                        keep(&store, &room, s);
                    }
                }
                None => {}
            }
            // Aligned: the room's spot when someone set one (or set a new one), else ours for the others.
            // (Only once in the room: the room's spot, if it has one, comes before its roster.)
            if let (Some(m), Some(d), Some(s)) = (marks, dialogue.as_mut(), spot)
                && d.room.me.is_some()
            {
                if d.room.placed_count != placed_seen {
                    placed_seen = d.room.placed_count;
                    if let Some(shared) = d.room.placed {
                        spot = Some(m.spot(shared, floor));
                        placed_by_room += 1;
                    }
                } else if (places_shared == 0 && placed_by_room == 0) || moved {
                    d.send_place(m.share(s, floor));
                    places_shared += 1;
                }
            }
            if let Some(s) = spot {
                let world = s.world(floor);
                renderer.placement = world;
                match placement {
                    Some((w, _)) if w != world => {
                        renderer.move_panel(CAPTIONS, world * captions::beside_the_twin());
                        renderer.move_panel(FLOOR, floor::under(world));
                    }
                    // First placed: the floor under it, unless the real room shows.
                    None if !session.sees_room() => {
                        let picture = floor::picture();
                        renderer.set_panel(
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
                placement = Some((world, s.distance(position)));
            }
        }
        if let (Some(voice), Some((world, _)), Some((position, orientation))) =
            (&options.voice, placement, head)
        {
            let mouth = world.transform_point3(mouth_in_model);
            voice
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .place(position, orientation, mouth);
        }
        // Mutual gaze: the user's gaze ray passing within a face's breadth of the twin's face.
        let looking = match (session.gaze(), placement) {
            (Some((origin, direction)), Some((world, _))) => {
                let face = world.transform_point3(face_in_model);
                let along = (face - origin).dot(direction);
                Some(along > 0.0 && (origin + direction * along - face).length() < 0.15)
            }
            _ => None,
        };
        animator.set_user_looking(looking);
        if looking == Some(true) {
            looked_at_frames += 1;
        }
        if let Some(d) = dialogue.as_mut() {
            // The buttons flag the last reply and share the conversation; the panel says which, and
            // confirms.
            let controls = crate::conversation::review::Controls::of_profile(session.profile());
            if controls != shown_controls {
                shown_controls = controls;
                d.set_controls(controls);
            }
            let buttons = session.buttons();
            d.press(buttons.flag, buttons.share);
            d.poll();
        }
        // In a room: this user's head and hands out (60 a second at most), the others in.
        let mut answering = None;
        if let (Some(d), Some((world, _)), Some((position, orientation))) =
            (dialogue.as_mut(), placement, head)
        {
            use crate::conversation::room::pose_in_room;
            if pose_sent_at.is_none_or(|t| t.elapsed().as_millis() >= 16) {
                let hand = |p: Option<twin_xr::input::Pointer>| {
                    p.map(|p| {
                        let turn = Quat::from_rotation_arc(Vec3::NEG_Z, p.direction);
                        pose_in_room(world, p.origin, turn)
                    })
                };
                let [left, right] = session.pointers();
                d.send_pose(
                    pose_in_room(world, position, orientation),
                    hand(left),
                    hand(right),
                );
                pose_sent_at = Some(Instant::now());
            }
            let (others, to) = d.others();
            if let Some(voice) = &options.voice {
                let mut voice = voice.lock().unwrap_or_else(|p| p.into_inner());
                voice_tracks.retain(|id, _| others.iter().any(|p| p.participant.id == *id));
                for p in &others {
                    let Some(queue) = d.voices.voices.get(&p.participant.id) else {
                        continue;
                    };
                    let mouth = world.transform_point3(p.head.position);
                    match voice_tracks.get_mut(&p.participant.id) {
                        Some(track) => track.place(mouth),
                        None => match voice.add_remote(mouth, queue.clone()) {
                            Ok(track) => {
                                voice_tracks.insert(p.participant.id.clone(), track);
                            }
                            Err(e) => {
                                tracing::warn!("{}'s voice cannot play: {e}", p.participant.name)
                            }
                        },
                    }
                }
            }
            presences_drawn =
                presences_drawn.max(presences.show(&mut renderer, world, position, &others)?);
            answering = to;
        }
        // The twin looks at whoever it answers; else at this user.
        let look_at = match (placement, head) {
            (Some((world, _)), Some((position, _))) => {
                answering.or(Some(world.inverse().transform_point3(position)))
            }
            _ => None,
        };
        // The caption panel, redrawn when its words change (at most ~7 times a second: each upload waits
        // for the GPU).
        if let (Some(p), Some((world, _))) = (panel.as_mut(), placement)
            && panel_drawn_at.is_none_or(|t| t.elapsed().as_millis() >= 150)
        {
            let (captions, cue) = match &dialogue {
                Some(d) if options.align && marks.is_none() => (&d.captions, aligner.cue()),
                Some(d) => (&d.captions, d.cue()),
                None => (&offline, "offline: no server (--token)"),
            };
            if let Some(rgba) = p.redraw(captions, cue) {
                renderer.set_panel(
                    CAPTIONS,
                    Some(twin_render::PanelData {
                        image: twin_render::TextureData {
                            width: captions::WIDTH,
                            height: captions::HEIGHT,
                            rgba: &rgba,
                        },
                        world: world * captions::beside_the_twin(),
                    }),
                )?;
                panel_updates += 1;
                panel_drawn_at = Some(Instant::now());
            }
        }
        let (mode, speech) = dialogue
            .as_ref()
            .map_or((Mode::Listening, None), |d| d.now());
        let input = Inputs {
            mode,
            look_at,
            speech: speech.map(|(track, seconds)| Speech { track, seconds }),
        };
        let pose = animator.update(&scene.rig, dt, &input);
        scene.apply(pose);
        scene.upload(&mut renderer)?;
        let app_ms = began.elapsed().as_secs_f64() * 1000.0;
        match session.step(&runtime, &mut renderer)? {
            Step::Drew => {
                frames += 1;
                cpu_ms.push(app_ms);
                first_frame_ms.get_or_insert(launched.elapsed().as_secs_f64() * 1000.0);
                first_drawn.get_or_insert_with(Instant::now);
                last_drawn = Some(Instant::now());
                on_frame(frames);
                if let Some(d) = dialogue.as_mut() {
                    d.drawn();
                }
            }
            Step::Skipped => skipped += 1,
            Step::Idle => std::thread::sleep(std::time::Duration::from_millis(10)),
            Step::Exit => break,
        }
        let conversation_over = match dialogue.as_mut().and_then(|d| d.over.take()) {
            Some(Err(reason)) => {
                failed = Some(reason);
                true
            }
            Some(Ok(())) => true,
            None => false,
        };
        if !exit_asked && (conversation_over || options.frames.is_some_and(|n| frames >= n)) {
            session.request_exit()?;
            exit_asked = true;
        }
    }
    let report = Report {
        runtime: format!("{} {}", probe.runtime, probe.runtime_version),
        device: ctx.device_name.clone(),
        space: session.space_kind,
        blend_mode: format!("{:?}", session.blend_mode()),
        backdrop: session.backdrop(),
        states: session.states.iter().map(|s| format!("{s:?}")).collect(),
        frames,
        skipped,
        first_frame_ms,
        frame_cpu_ms_p50: percentile(&cpu_ms, 50.0),
        frame_cpu_ms_p95: percentile(&cpu_ms, 95.0),
        over_90hz_budget: cpu_ms.iter().filter(|&&ms| ms > 1000.0 / 90.0).count(),
        display_hz: if session.timing.period_s > 0.0 {
            1.0 / session.timing.period_s
        } else {
            0.0
        },
        missed_refreshes: session.timing.missed,
        frames_per_s: match (first_drawn, last_drawn) {
            (Some(a), Some(b)) if frames > 1 && b > a => {
                (frames - 1) as f64 / (b - a).as_secs_f64()
            }
            _ => 0.0,
        },
        placed_at_m: placement.map(|(_, d)| d),
        spot,
        placed_from,
        moves,
        hands: session.has_hands(),
        review_buttons: session.has_buttons(),
        controller: session.profile().map(str::to_string),
        looked_at_frames,
        twin_height_m: high.y - low.y,
        panel_updates,
        presences_drawn,
        marks: marks.map(|m| [m.a.to_array(), m.b.to_array()]),
        placed_by_room,
        places_shared,
        dialogue: dialogue.map(|d| d.finish()),
    };
    // The session's images before the renderer, the renderer before the context.
    drop(session);
    drop(renderer);
    if let Some(reason) = failed {
        anyhow::bail!("the conversation stopped: {reason}");
    }
    Ok(report)
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    v[((p / 100.0) * (v.len() - 1) as f64).round() as usize]
}

/// Keeps the spot for this room, saying why where it cannot.
fn keep(store: &Option<placement::Store>, room: &Option<String>, spot: placement::Spot) {
    if let (Some(store), Some(room)) = (store, room)
        && let Err(e) = store.save(room, spot)
    {
        tracing::warn!("the twin's place is not kept: {e}");
    }
}
