//! Scoring a render of the fitted likeness against the photo it was fitted to: where Face Mesh finds the
//! landmarks on each, and how the skin's colour compares on the cheeks and the forehead (CIEDE2000).

use crate::dlib68;
use crate::lab::{ciede2000, mean_lab};
use crate::photo::Photo;
use glam::Vec2;

/// Discs of bare skin, from the photo's 68 points: under each eye (the cheeks) and above the brows (the
/// forehead), sized by the distance between the eyes so they stay off the eyes, nose, lips and hairline.
pub fn skin_patches(points: &[Vec2]) -> [(&'static str, Vec2, f32); 3] {
    let iod = dlib68::inter_ocular(points);
    let centre =
        |r: std::ops::Range<usize>| points[r.clone()].iter().sum::<Vec2>() / r.len() as f32;
    let (right_eye, left_eye) = (centre(dlib68::RIGHT_EYE), centre(dlib68::LEFT_EYE));
    // Down the face: from the eyes towards the mouth's corners.
    let down = ((points[48] + points[54]) / 2.0 - (right_eye + left_eye) / 2.0).normalize_or_zero();
    let out = (left_eye - right_eye).normalize_or_zero();
    let brows = (points[19] + points[24]) / 2.0;
    [
        (
            "right cheek",
            right_eye + down * 0.5 * iod - out * 0.1 * iod,
            0.12 * iod,
        ),
        (
            "left cheek",
            left_eye + down * 0.5 * iod + out * 0.1 * iod,
            0.12 * iod,
        ),
        // Low on the forehead: fringes and hairlines come down to just above the brows.
        ("forehead", brows - down * 0.15 * iod, 0.08 * iod),
    ]
}

/// The pixels of a disc.
fn disc(photo: &Photo, centre: Vec2, radius: f32) -> Vec<[u8; 3]> {
    let (x0, x1) = (
        (centre.x - radius).floor() as i64,
        (centre.x + radius).ceil() as i64,
    );
    let (y0, y1) = (
        (centre.y - radius).floor() as i64,
        (centre.y + radius).ceil() as i64,
    );
    let mut pixels = Vec::new();
    for y in y0.max(0)..=y1.min(photo.height as i64 - 1) {
        for x in x0.max(0)..=x1.min(photo.width as i64 - 1) {
            if Vec2::new(x as f32, y as f32).distance(centre) <= radius {
                let at = 3 * (y as usize * photo.width as usize + x as usize);
                pixels.push([photo.rgb[at], photo.rgb[at + 1], photo.rgb[at + 2]]);
            }
        }
    }
    pixels
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SkinDifference {
    /// Each patch's name and the CIEDE2000 difference of its mean colour, render against photo.
    pub patches: Vec<(String, f32)>,
    pub mean: f32,
}

/// The colour difference of the skin patches (placed by the photo's 68 points) between the photo and a
/// render of the same size from the photo's camera. `None` where a patch falls outside the pictures.
pub fn skin_difference(photo: &Photo, render: &Photo, points: &[Vec2]) -> Option<SkinDifference> {
    let mut patches = Vec::new();
    for (name, centre, radius) in skin_patches(points) {
        let want = mean_lab(&disc(photo, centre, radius))?;
        let got = mean_lab(&disc(render, centre, radius))?;
        patches.push((name.to_string(), ciede2000(want, got)));
    }
    let mean = patches.iter().map(|(_, d)| d).sum::<f32>() / patches.len() as f32;
    Some(SkinDifference { patches, mean })
}

/// The mean distance between the inner-face landmarks of two readings, as a share of the first's eye
/// distance.
pub fn landmark_error(want: &[Vec2], got: &[Vec2]) -> f32 {
    let iod = dlib68::inter_ocular(want);
    dlib68::INNER.map(|i| want[i].distance(got[i])).sum::<f32>() / dlib68::INNER.len() as f32 / iod
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frontal face's 68 points: eyes 100 px apart at y = 100, mouth at y = 200.
    fn face() -> Vec<Vec2> {
        let mut p = vec![Vec2::ZERO; 68];
        for i in dlib68::RIGHT_EYE {
            p[i] = Vec2::new(100.0, 100.0);
        }
        for i in dlib68::LEFT_EYE {
            p[i] = Vec2::new(200.0, 100.0);
        }
        p[48] = Vec2::new(120.0, 200.0);
        p[54] = Vec2::new(180.0, 200.0);
        p[19] = Vec2::new(100.0, 80.0);
        p[24] = Vec2::new(200.0, 80.0);
        p
    }

    #[test]
    fn patches_sit_under_the_eyes_and_above_the_brows() {
        let [right, left, forehead] = skin_patches(&face());
        assert_eq!(right.1, Vec2::new(90.0, 150.0));
        assert_eq!(left.1, Vec2::new(210.0, 150.0));
        assert_eq!(forehead.1, Vec2::new(150.0, 65.0));
        assert!((right.2 - 12.0).abs() < 1e-4);
    }

    #[test]
    fn same_picture_scores_zero_and_a_shift_in_tone_scores_it() {
        let photo = Photo::filled(300, 300, [200, 150, 130]);
        let same = skin_difference(&photo, &photo, &face()).unwrap();
        assert_eq!(same.mean, 0.0);
        let darker = Photo::filled(300, 300, [180, 130, 110]);
        let d = skin_difference(&photo, &darker, &face()).unwrap();
        assert!(d.mean > 4.0 && d.mean < 12.0, "{d:?}");
        // A picture too small for the patches has no score.
        assert!(skin_difference(&Photo::filled(50, 50, [0; 3]), &photo, &face()).is_none());
    }
}
