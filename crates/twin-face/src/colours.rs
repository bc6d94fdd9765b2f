//! The colours of a person's eyes and hair, read off a photo around its Face Mesh landmarks.

use crate::Photo;
use glam::Vec2;

/// Face Mesh points around each eye's opening.
pub const RIGHT_EYE: [usize; 16] = [
    33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246,
];
pub const LEFT_EYE: [usize; 16] = [
    362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398,
];
/// The top of the forehead and the chin on the face's outline.
const FOREHEAD_TOP: usize = 10;
const CHIN: usize = 152;

/// Whether `p` lies inside `polygon` (even-odd rule).
pub fn inside(polygon: &[Vec2], p: Vec2) -> bool {
    let mut odd = false;
    let mut j = polygon.len() - 1;
    for i in 0..polygon.len() {
        let (a, b) = (polygon[i], polygon[j]);
        if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
            odd = !odd;
        }
        j = i;
    }
    odd
}

fn luma(c: [u8; 3]) -> f32 {
    0.2126 * c[0] as f32 + 0.7152 * c[1] as f32 + 0.0722 * c[2] as f32
}

/// Per channel, the median of `pixels`.
fn median(pixels: &mut [[u8; 3]]) -> Option<[u8; 3]> {
    if pixels.is_empty() {
        return None;
    }
    Some(std::array::from_fn(|c| {
        pixels.sort_by_key(|p| p[c]);
        pixels[pixels.len() / 2][c]
    }))
}

fn pixel(photo: &Photo, x: i64, y: i64) -> Option<[u8; 3]> {
    if x < 0 || y < 0 || x >= photo.width as i64 || y >= photo.height as i64 {
        return None;
    }
    let i = 3 * (y as usize * photo.width as usize + x as usize);
    Some([photo.rgb[i], photo.rgb[i + 1], photo.rgb[i + 2]])
}

/// The iris colour: the median of the darker half of the pixels inside both eyes' openings (the whites are
/// the lighter half). `landmarks`: the 468 points in the photo's pixels.
pub fn iris(photo: &Photo, landmarks: &[Vec2]) -> Option<[u8; 3]> {
    let mut pixels = Vec::new();
    for eye in [RIGHT_EYE, LEFT_EYE] {
        let outline: Vec<Vec2> = eye.iter().map(|&i| landmarks[i]).collect();
        let lo = outline.iter().fold(Vec2::MAX, |a, &b| a.min(b)).floor();
        let hi = outline.iter().fold(Vec2::MIN, |a, &b| a.max(b)).ceil();
        for y in lo.y as i64..hi.y as i64 {
            for x in lo.x as i64..hi.x as i64 {
                if inside(&outline, Vec2::new(x as f32 + 0.5, y as f32 + 0.5)) {
                    pixels.extend(pixel(photo, x, y));
                }
            }
        }
    }
    pixels.sort_by(|a, b| luma(*a).total_cmp(&luma(*b)));
    pixels.truncate(pixels.len() / 2);
    median(&mut pixels)
}

/// The hair colour: the median of a patch just above the top of the forehead, along the face's upright axis.
pub fn hair(photo: &Photo, landmarks: &[Vec2]) -> Option<[u8; 3]> {
    let (top, chin) = (landmarks[FOREHEAD_TOP], landmarks[CHIN]);
    let height = top.distance(chin);
    let up = (top - chin).normalize_or_zero();
    let centre = top + up * (0.12 * height);
    let radius = (0.06 * height).max(1.0);
    let mut pixels = Vec::new();
    for y in (centre.y - radius) as i64..=(centre.y + radius) as i64 {
        for x in (centre.x - radius) as i64..=(centre.x + radius) as i64 {
            if Vec2::new(x as f32, y as f32).distance(centre) <= radius {
                pixels.extend(pixel(photo, x, y));
            }
        }
    }
    median(&mut pixels)
}

/// "#rrggbb".
pub fn hex(c: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_hex() {
        let mut p = vec![[10, 200, 0], [30, 100, 0], [20, 0, 255]];
        assert_eq!(median(&mut p), Some([20, 100, 0]));
        assert_eq!(hex([255, 8, 16]), "#ff0810");
        assert!(median(&mut []).is_none());
    }
}
