//! `twin xr probe`: what the OpenXR runtime on this machine offers the headset app.

use anyhow::Result;

#[derive(clap::Args)]
pub struct XrArgs {
    #[command(subcommand)]
    command: XrCommand,
}

#[derive(clap::Subcommand)]
enum XrCommand {
    /// Open the OpenXR runtime (XR_RUNTIME_JSON chooses one) and report the headset: views, blend modes
    /// (can the real room show through?), and the optional extensions (passthrough, floor space, eye gaze,
    /// spatial anchors).
    Probe {
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: XrArgs) -> Result<()> {
    match args.command {
        XrCommand::Probe { json } => {
            let runtime = twin_xr::Runtime::open("twin")?;
            let p = runtime.probe()?;
            if json {
                println!("{}", serde_json::to_string(&p)?);
                return Ok(());
            }
            println!("runtime  {} {}", p.runtime, p.runtime_version);
            println!(
                "headset  {} (orientation {}, position {})",
                p.system,
                if p.orientation_tracking {
                    "tracked"
                } else {
                    "not tracked"
                },
                if p.position_tracking {
                    "tracked"
                } else {
                    "not tracked"
                }
            );
            let views: Vec<String> = p.views.iter().map(|(w, h)| format!("{w}x{h}")).collect();
            println!("views    {}", views.join(", "));
            println!("blend    {}", p.blend_modes.join(", "));
            let yes = |b: bool| if b { "yes" } else { "no" };
            println!(
                "passthrough {}, local floor {}, eye gaze {}, spatial anchors {}",
                yes(p.passthrough),
                yes(p.local_floor),
                yes(p.eye_gaze),
                yes(p.spatial_anchors)
            );
            Ok(())
        }
    }
}
