//! The caption panel beside the twin: the state cue (a coloured dot and a word), which buttons flag and
//! share (top right), a share's or flag's confirmation for a few seconds, what the user said, what the twin
//! says and the sources it cites, rasterized on the CPU into the panel's picture. It is redrawn only when
//! its words change.

use crate::conversation::dialogue::Captions;
use ab_glyph::{Font, FontVec, PxScale, ScaleFont};

/// The panel's picture, in pixels, and its size in the room, in metres.
pub const WIDTH: u32 = 768;
pub const HEIGHT: u32 = 384;
pub const WIDTH_M: f32 = 0.48;
pub const HEIGHT_M: f32 = 0.24;

const BACKGROUND: [u8; 3] = [24, 26, 30];
const USER: [u8; 3] = [170, 176, 186];
const TWIN: [u8; 3] = [240, 242, 245];
const SOURCES: [u8; 3] = [130, 170, 220];
const HINT: [u8; 3] = [120, 126, 136];
const NOTICE: [u8; 3] = [120, 220, 150];

/// Where the TrueType font is looked for (Debian: fonts-dejavu-core, installed by setup; Android's own).
const FONTS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/system/fonts/Roboto-Regular.ttf",
];

pub struct CaptionPanel {
    font: FontVec,
    shown: Option<(Captions, &'static str)>,
}

/// The state cue: its colour.
fn cue_colour(cue: &str) -> [u8; 3] {
    match cue {
        "speaking" => [80, 160, 255],
        "thinking" => [255, 180, 60],
        "listening" => [90, 210, 120],
        // Not connected.
        _ => [150, 150, 150],
    }
}

/// Where the panel stands, in the twin's model space (the twin faces +Z, toward the user): at the user's
/// right of the twin, below its eyes so the face stays clear, a little forward; the unit quad scaled to
/// the panel's size.
pub fn beside_the_twin() -> glam::Mat4 {
    glam::Mat4::from_translation(glam::Vec3::new(0.52, 1.3, 0.15))
        * glam::Mat4::from_rotation_y(-0.3)
        * glam::Mat4::from_scale(glam::Vec3::new(WIDTH_M, HEIGHT_M, 1.0))
}

/// The panel as shown in the room: redrawn when its words change, at most about 7 times a second (each upload
/// waits for the GPU); none where no font is found.
pub struct CaptionsView {
    panel: Option<CaptionPanel>,
    drawn_at: Option<std::time::Instant>,
    /// Times the picture changed.
    pub updates: u64,
}

/// The least time between two redraws.
const REDRAW_EVERY: std::time::Duration = std::time::Duration::from_millis(150);

impl Default for CaptionsView {
    fn default() -> Self {
        CaptionsView::new()
    }
}

impl CaptionsView {
    pub fn new() -> CaptionsView {
        let panel = CaptionPanel::new();
        if panel.is_none() {
            tracing::warn!(
                "no TrueType font (Debian: fonts-dejavu-core): the caption panel is not shown"
            );
        }
        CaptionsView {
            panel,
            drawn_at: None,
            updates: 0,
        }
    }

    /// Shows `captions` and `cue` in panel slot `slot`, beside the twin placed at `twin` (model → world).
    pub fn update(
        &mut self,
        renderer: &mut twin_render::Renderer,
        slot: usize,
        twin: glam::Mat4,
        captions: &Captions,
        cue: &'static str,
    ) -> Result<(), twin_render::RenderError> {
        let Some(panel) = self.panel.as_mut() else {
            return Ok(());
        };
        if self.drawn_at.is_some_and(|t| t.elapsed() < REDRAW_EVERY) {
            return Ok(());
        }
        if let Some(rgba) = panel.redraw(captions, cue) {
            renderer.set_panel(
                slot,
                Some(twin_render::PanelData {
                    image: twin_render::TextureData {
                        width: WIDTH,
                        height: HEIGHT,
                        rgba: &rgba,
                    },
                    world: twin * beside_the_twin(),
                }),
            )?;
            self.updates += 1;
            self.drawn_at = Some(std::time::Instant::now());
        }
        Ok(())
    }
}

impl CaptionPanel {
    /// `None` where no font is found (the panel is then not shown; said once by the caller).
    pub fn new() -> Option<CaptionPanel> {
        Some(CaptionPanel {
            font: font()?,
            shown: None,
        })
    }

    /// The picture for these captions and cue, or `None` when it would be the one already drawn.
    pub fn redraw(&mut self, captions: &Captions, cue: &'static str) -> Option<Vec<u8>> {
        if self
            .shown
            .as_ref()
            .is_some_and(|(c, s)| c == captions && *s == cue)
        {
            return None;
        }
        self.shown = Some((captions.clone(), cue));
        Some(self.draw(captions, cue))
    }

    pub fn draw(&self, captions: &Captions, cue: &str) -> Vec<u8> {
        let mut canvas = Canvas::new(WIDTH, HEIGHT, BACKGROUND);
        let margin = 24.0;
        let body = PxScale::from(26.0);
        // The cue: a dot and its word.
        canvas.disc(margin + 10.0, margin + 12.0, 10.0, cue_colour(cue));
        let cue_scale = PxScale::from(24.0);
        canvas.text(
            &self.font,
            cue_scale,
            margin + 30.0,
            margin,
            cue,
            cue_colour(cue),
        );
        // Which buttons flag and share, at the right of the cue where there is room for them.
        if !captions.hint.is_empty() {
            let scale = PxScale::from(20.0);
            let hint_w = measure(&self.font, scale, &captions.hint);
            let cue_end = margin + 30.0 + measure(&self.font, cue_scale, cue);
            let left = WIDTH as f32 - margin - hint_w;
            if left > cue_end + 16.0 {
                canvas.text(&self.font, scale, left, margin + 3.0, &captions.hint, HINT);
            }
        }
        let width = WIDTH as f32 - 2.0 * margin;
        let line_h = 32.0;
        let mut y = margin + 44.0;
        if !captions.notice.is_empty() {
            // At most two lines, above the words.
            for line in wrap(&self.font, body, &captions.notice, width)
                .iter()
                .take(2)
            {
                canvas.text(&self.font, body, margin, y, line, NOTICE);
                y += line_h;
            }
            y += 10.0;
        }
        if !captions.user.is_empty() {
            let lines = wrap(&self.font, body, &format!("You: {}", captions.user), width);
            // The end of what was said, at most two lines.
            for line in &lines[lines.len().saturating_sub(2)..] {
                canvas.text(&self.font, body, margin, y, line, USER);
                y += line_h;
            }
            y += 10.0;
        }
        let sources_h = if captions.citations.is_empty() {
            0.0
        } else {
            line_h
        };
        let room = ((HEIGHT as f32 - margin - sources_h - y) / line_h)
            .floor()
            .max(0.0) as usize;
        if !captions.twin.is_empty() {
            let lines = wrap(&self.font, body, &captions.twin, width);
            // The latest words, as they are spoken.
            for line in &lines[lines.len().saturating_sub(room)..] {
                canvas.text(&self.font, body, margin, y, line, TWIN);
                y += line_h;
            }
        }
        if !captions.citations.is_empty() {
            let sources = format!("Sources: {}", captions.citations.join(", "));
            let line = wrap(&self.font, PxScale::from(22.0), &sources, width)
                .into_iter()
                .next()
                .unwrap_or_default();
            canvas.text(
                &self.font,
                PxScale::from(22.0),
                margin,
                HEIGHT as f32 - margin - line_h + 4.0,
                &line,
                SOURCES,
            );
        }
        canvas.rgba
    }
}

/// How wide `text` is on one line, in pixels.
fn measure(font: &FontVec, scale: PxScale, text: &str) -> f32 {
    let scaled = font.as_scaled(scale);
    text.chars()
        .map(|c| scaled.h_advance(font.glyph_id(c)))
        .sum()
}

/// Words into lines no wider than `width` pixels (a word longer than a line stands alone).
fn wrap(font: &FontVec, scale: PxScale, text: &str, width: f32) -> Vec<String> {
    let measure = |s: &str| measure(font, scale, s);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if measure(&candidate) > width && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            line = word.to_string();
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The first TrueType font found (DejaVu Sans on Debian, Roboto on Android).
pub(crate) fn font() -> Option<FontVec> {
    FONTS
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .find_map(|bytes| FontVec::try_from_vec(bytes).ok())
}

pub(crate) struct Canvas {
    width: u32,
    height: u32,
    pub(crate) rgba: Vec<u8>,
}

impl Canvas {
    pub(crate) fn new(width: u32, height: u32, fill: [u8; 3]) -> Canvas {
        let rgba = std::iter::repeat_n([fill[0], fill[1], fill[2], 255], (width * height) as usize)
            .flatten()
            .collect();
        Canvas {
            width,
            height,
            rgba,
        }
    }

    /// Blends `colour` into pixel (x, y) by `coverage`.
    fn blend(&mut self, x: i32, y: i32, colour: [u8; 3], coverage: f32) {
        if x < 0 || y < 0 || x >= self.width as i32 || y >= self.height as i32 {
            return;
        }
        let i = ((y as u32 * self.width + x as u32) * 4) as usize;
        let a = coverage.clamp(0.0, 1.0);
        for (under, over) in self.rgba[i..i + 3].iter_mut().zip(colour) {
            *under = (*under as f32 + (over as f32 - *under as f32) * a).round() as u8;
        }
    }

    pub(crate) fn disc(&mut self, cx: f32, cy: f32, r: f32, colour: [u8; 3]) {
        for y in (cy - r - 1.0) as i32..=(cy + r + 1.0) as i32 {
            for x in (cx - r - 1.0) as i32..=(cx + r + 1.0) as i32 {
                let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
                self.blend(x, y, colour, r + 0.5 - d);
            }
        }
    }

    /// One line of text, its top at `top`.
    pub(crate) fn text(
        &mut self,
        font: &FontVec,
        scale: PxScale,
        left: f32,
        top: f32,
        text: &str,
        colour: [u8; 3],
    ) {
        let scaled = font.as_scaled(scale);
        let baseline = top + scaled.ascent();
        let mut x = left;
        let mut previous = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = previous {
                x += scaled.kern(p, id);
            }
            let glyph = id.with_scale_and_position(scale, ab_glyph::point(x, baseline));
            x += scaled.h_advance(id);
            previous = Some(id);
            if let Some(outline) = font.outline_glyph(glyph) {
                let bounds = outline.px_bounds();
                outline.draw(|gx, gy, coverage| {
                    self.blend(
                        bounds.min.x as i32 + gx as i32,
                        bounds.min.y as i32 + gy as i32,
                        colour,
                        coverage,
                    );
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ink(rgba: &[u8], rows: std::ops::Range<u32>, colour: [u8; 3]) -> usize {
        rows.flat_map(|y| (0..WIDTH).map(move |x| ((y * WIDTH + x) * 4) as usize))
            .filter(|&i| {
                (0..3).all(|c| (rgba[i + c] as i32 - colour[c] as i32).abs() < 40)
                    && rgba[i..i + 3] != BACKGROUND
            })
            .count()
    }

    #[test]
    fn the_panel_shows_the_cue_the_words_and_the_sources() {
        let Some(mut panel) = CaptionPanel::new() else {
            panic!("no font: install fonts-dejavu-core (cargo xtask setup does)");
        };
        let captions = Captions {
            user: "What is the plan for the warehouse robots next year?".into(),
            twin: "You can model a floor plan, drop in a fleet, and test routing before a single robot \
                   ships. Better tools make the whole field safer."
                .into(),
            citations: vec!["s014".into()],
            ..Captions::default()
        };
        let picture = panel
            .redraw(&captions, "speaking")
            .expect("a first picture");
        assert_eq!(picture.len(), (WIDTH * HEIGHT * 4) as usize);
        // The cue's dot and word in the speaking colour, at the top.
        assert!(ink(&picture, 0..60, cue_colour("speaking")) > 200);
        // The user's words, the twin's (wrapped onto several lines), the sources at the bottom.
        assert!(ink(&picture, 60..110, USER) > 300);
        let twin_rows: Vec<u32> = (110..HEIGHT - 40)
            .filter(|&y| ink(&picture, y..y + 1, TWIN) > 10)
            .collect();
        // Two lines of it (each some 19 rows of ink at 26 px).
        assert!(
            twin_rows.len() >= 30,
            "{} rows of the twin's text",
            twin_rows.len()
        );
        if let Ok(dir) = std::env::var("TWIN_CAPTIONS_PNG") {
            let mut e = png::Encoder::new(
                std::fs::File::create(format!("{dir}/captions.png")).unwrap(),
                WIDTH,
                HEIGHT,
            );
            e.set_color(png::ColorType::Rgba);
            e.write_header()
                .unwrap()
                .write_image_data(&picture)
                .unwrap();
        }
        assert!(ink(&picture, HEIGHT - 50..HEIGHT, SOURCES) > 100);
        // Nothing new: no redraw; a new state: a new picture with the other colour.
        assert!(panel.redraw(&captions, "speaking").is_none());
        let listening = panel.redraw(&captions, "listening").unwrap();
        assert!(ink(&listening, 0..60, cue_colour("listening")) > 200);
        assert_eq!(ink(&listening, 0..60, cue_colour("speaking")), 0);
    }

    #[test]
    fn the_buttons_hint_and_a_confirmation_are_shown() {
        let Some(mut panel) = CaptionPanel::new() else {
            panic!("no font: install fonts-dejavu-core (cargo xtask setup does)");
        };
        let mut captions = Captions {
            twin: "We open-sourced it so that others can test their robots safely.".into(),
            hint: "A: flag · B: share".into(),
            ..Captions::default()
        };
        let plain = panel.redraw(&captions, "listening").unwrap();
        // The hint at the top right, in its own grey; no notice yet.
        let right_top = |rgba: &[u8], colour: [u8; 3]| {
            (0..60)
                .flat_map(|y| (WIDTH / 2..WIDTH).map(move |x| ((y * WIDTH + x) * 4) as usize))
                .filter(|&i| (0..3).all(|c| (rgba[i + c] as i32 - colour[c] as i32).abs() < 20))
                .count()
        };
        assert!(right_top(&plain, HINT) > 100, "the hint");
        assert_eq!(ink(&plain, 60..110, NOTICE), 0);
        // The confirmation arrives: a new picture with it under the cue, the twin's words below it.
        captions.notice = "Flagged the last reply for Owen's review.".into();
        let noted = panel.redraw(&captions, "listening").expect("redrawn");
        if let Ok(dir) = std::env::var("TWIN_CAPTIONS_PNG") {
            let mut e = png::Encoder::new(
                std::fs::File::create(format!("{dir}/captions-noted.png")).unwrap(),
                WIDTH,
                HEIGHT,
            );
            e.set_color(png::ColorType::Rgba);
            e.write_header().unwrap().write_image_data(&noted).unwrap();
        }
        assert!(ink(&noted, 60..110, NOTICE) > 300, "the notice");
        let twin_top = |rgba: &[u8]| (60..HEIGHT).find(|&y| ink(rgba, y..y + 1, TWIN) > 5);
        assert!(twin_top(&noted) > twin_top(&plain));
        // Gone again after its few seconds: the plain picture.
        captions.notice.clear();
        assert_eq!(panel.redraw(&captions, "listening").unwrap(), plain);
    }

    #[test]
    fn long_words_and_empty_captions_do_not_break_it() {
        let Some(panel) = CaptionPanel::new() else {
            panic!("no font: install fonts-dejavu-core (cargo xtask setup does)");
        };
        let long = "x".repeat(500);
        let picture = panel.draw(
            &Captions {
                user: long.clone(),
                twin: format!("{long} {long}"),
                citations: vec![long.clone()],
                hint: long.clone(),
                notice: long,
            },
            "thinking",
        );
        assert_eq!(picture.len(), (WIDTH * HEIGHT * 4) as usize);
        let empty = panel.draw(&Captions::default(), "listening");
        assert_eq!(empty.len(), picture.len());
    }
}
