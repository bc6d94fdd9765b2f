//! `twin headset`: the headset app on the OpenXR runtime (the headset's own, or Monado's). With `--token`
//! it talks: the microphone (or `--input`) to the twin's server, the twin answering aloud in the headset.

use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct HeadsetArgs {
    /// The avatar (glb or gltf).
    #[arg(long, default_value = "models/avatars/owen-marsh.glb")]
    avatar: PathBuf,
    /// Seed of the twin's idle motion (blinks, glances), so runs repeat.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// End the session after this many frames (tests, benchmarks).
    #[arg(long)]
    frames: Option<u64>,
    /// Print the run's report as one JSON object.
    #[arg(long)]
    json: bool,
    /// Where the twin's spot is kept per room (default: $XDG_STATE_HOME/twin/placements.json, else
    /// ~/.local/state/twin/placements.json).
    #[arg(long, value_name = "FILE")]
    placements: Option<PathBuf>,
    /// Place the twin in front of you and keep nothing (a demo, a test).
    #[arg(long, conflicts_with = "placements")]
    no_keep_place: bool,
    /// In a room with others in the same physical room: first touch the room's two floor marks (A, then B)
    /// with a controller and pull the trigger at each; the twin then stands on the same spot in every
    /// headset (see the README's "Aligning colocated headsets").
    #[arg(long, requires = "room")]
    align: bool,
    /// Aligned before in this tracking space: the floor marks as AX,AZ,BX,BZ (metres; a report's `marks`).
    #[arg(long, requires = "align", value_name = "AX,AZ,BX,BZ", value_parser = twin::headset::align::parse_marks)]
    marks: Option<twin::headset::align::Marks>,
    #[command(flatten)]
    live: crate::cli::connect::LiveArgs,
}

pub fn run(args: HeadsetArgs) -> Result<()> {
    let json = args.json;
    let (conversation, voice) = match args
        .live
        .start(concat!("twin-headset/", env!("CARGO_PKG_VERSION")), true)?
    {
        Some((c, v)) => (Some(c), v),
        None => (None, None),
    };
    let report = twin::headset::run(
        twin::headset::Options {
            avatar: args.avatar,
            seed: args.seed,
            frames: args.frames,
            conversation,
            voice,
            align: args.align,
            marks: args.marks,
            placements: if args.no_keep_place {
                None
            } else {
                args.placements
                    .or_else(twin::headset::placement::Store::default_path)
            },
        },
        // Scripts (and the screenshot test) learn when the twin is on screen.
        &mut |frames| {
            if json && frames == 30 {
                println!(
                    "{}",
                    serde_json::json!({"event": "on_screen", "frames": frames})
                );
            }
        },
    )?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        eprintln!(
            "{} frames on {} through {} ({} space, {}); the twin {:.2} m tall, {} away; app CPU {:.2} ms a frame (p95 {:.2})",
            report.frames,
            report.device,
            report.runtime,
            report.space,
            report.blend_mode,
            report.twin_height_m,
            report
                .placed_at_m
                .map_or("not placed".into(), |d| format!("{d:.2} m")),
            report.frame_cpu_ms_p50,
            report.frame_cpu_ms_p95
        );
        if let Some(d) = &report.dialogue {
            for turn in &d.turns {
                println!("you: {turn}");
            }
            for reply in &d.replies {
                println!("twin: {} {:?}", reply.text, reply.citations);
            }
            eprintln!(
                "the twin spoke for {} frames, its mouth moving in {}",
                d.speaking_frames, d.mouth_moving_frames
            );
        }
    }
    Ok(())
}
