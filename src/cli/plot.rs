//! Pictures of speech: the waveform, and under it the weights of the visemes a viewer reads on the lips.

use anyhow::{Context, Result};
use plotters::prelude::*;
use std::path::Path;
use twin_lipsync::{Frame, Viseme};

/// The visemes drawn, with their colours.
const SHOWN: [(Viseme, RGBColor); 7] = [
    (Viseme::PP, RGBColor(200, 30, 30)),
    (Viseme::FF, RGBColor(230, 140, 0)),
    (Viseme::Aa, RGBColor(30, 120, 220)),
    (Viseme::E, RGBColor(20, 160, 90)),
    (Viseme::Ih, RGBColor(120, 200, 60)),
    (Viseme::Oh, RGBColor(140, 60, 200)),
    (Viseme::Ou, RGBColor(210, 80, 180)),
];

/// Fonts are optional: without one the picture is drawn without labels.
fn load_font() -> bool {
    for path in [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    ] {
        if let Ok(bytes) = std::fs::read(path) {
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                return true;
            }
        }
    }
    tracing::warn!("no TrueType font found (Debian: fonts-dejavu-core); the plot has no labels");
    false
}

pub fn waveform_and_visemes(
    path: &Path,
    audio: &[f32],
    rate: u32,
    frames: &[Frame],
    title: &str,
) -> Result<()> {
    let labels = load_font();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let seconds = (audio.len() as f64 / rate as f64).max(0.01);
    let root = BitMapBackend::new(path, (1400, 700)).into_drawing_area();
    let draw = |e: plotters::drawing::DrawingAreaErrorKind<_>| {
        anyhow::anyhow!("cannot draw {}: {e:?}", path.display())
    };
    root.fill(&WHITE).map_err(draw)?;
    let (top, bottom) = root.split_vertically(280);

    let mut wave = ChartBuilder::on(&top);
    wave.margin(10)
        .x_label_area_size(if labels { 20 } else { 0 })
        .y_label_area_size(if labels { 40 } else { 0 });
    if labels {
        let short: String = title.chars().take(110).collect();
        wave.caption(short, ("sans-serif", 18));
    }
    let mut wave = wave
        .build_cartesian_2d(0.0..seconds, -1.0f64..1.0)
        .map_err(draw)?;
    if labels {
        wave.configure_mesh()
            .disable_mesh()
            .x_desc("seconds")
            .draw()
            .map_err(draw)?;
    }
    // One vertical line per pixel column: the envelope of the samples it covers.
    let columns = 1300usize;
    let per = (audio.len() / columns).max(1);
    let envelope = audio.chunks(per).enumerate().map(|(i, c)| {
        let t = (i * per) as f64 / rate as f64;
        let lo = c.iter().copied().fold(0.0f32, f32::min) as f64;
        let hi = c.iter().copied().fold(0.0f32, f32::max) as f64;
        PathElement::new(vec![(t, lo), (t, hi)], RGBColor(60, 60, 60))
    });
    wave.draw_series(envelope).map_err(draw)?;

    let mut lips = ChartBuilder::on(&bottom);
    lips.margin(10)
        .x_label_area_size(if labels { 30 } else { 0 })
        .y_label_area_size(if labels { 40 } else { 0 });
    let mut lips = lips
        .build_cartesian_2d(0.0..seconds, 0.0f64..1.05)
        .map_err(draw)?;
    if labels {
        lips.configure_mesh()
            .x_desc("seconds")
            .y_desc("viseme weight")
            .draw()
            .map_err(draw)?;
    }
    for (viseme, color) in SHOWN {
        let series = frames.iter().map(|f| {
            (
                f.sample as f64 / rate as f64,
                f.visemes[viseme.index()] as f64,
            )
        });
        let drawn = lips
            .draw_series(LineSeries::new(series, color.stroke_width(2)))
            .map_err(draw)?;
        if labels {
            drawn.label(viseme.name()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
        }
    }
    if labels {
        lips.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(draw)?;
    }
    root.present()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
