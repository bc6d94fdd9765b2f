//! The headset app: the twin standing life-size in the user's room through OpenXR. Long-lived parts (the
//! runtime, the GPU context the runtime made, the renderer, the avatar) live in [`app::HeadsetApp`]; each
//! frame small systems (placing, gaze, the room, captions) run, the animator poses the twin toward the
//! user's head and the session draws both eyes at once.
//!
//! The twin is placed on the floor 1.2 m in front of where the user first looks, facing them; with a
//! conversation (`dialogue`) it listens, thinks and answers aloud, its mouth on the playback clock.

pub mod align;
mod app;
pub mod captions;
pub mod floor;
pub mod gaze;
pub mod placement;
pub mod placer;
pub mod presence;
pub mod room_view;
pub mod stats;

/// The renderer's panel slots: the floor (where the room is not seen), the captions, then the others in a
/// room ([`presence::FIRST_SLOT`] on).
const FLOOR: usize = 0;
const CAPTIONS: usize = 1;

use anyhow::Result;
use std::time::Instant;
use twin_xr::Runtime;

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
    let mut app = app::HeadsetApp::new(runtime, launched, options)?;
    while app.frame(on_frame)? {}
    app.finish()
}
