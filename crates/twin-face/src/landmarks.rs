//! MediaPipe's Face Mesh: 468 landmarks from a 192×192 crop around a detected face, turned upright by its
//! eye line and enlarged 1.5× (MediaPipe's region of interest), mapped back to the photo's pixels.

use crate::detect::{FaceBox, LEFT_EYE, RIGHT_EYE};
use crate::onnx::OnnxModel;
use crate::{FaceError, Photo};
use glam::{Mat2, Vec2, Vec3};
use std::path::Path;

const SIDE: usize = 192;
const POINTS: usize = 468;
/// The crop around the detected box, relative to its longer side.
const ROI_SCALE: f32 = 1.5;

/// Face Mesh indices of named points (the subject's right is on the photo's left).
pub mod index {
    pub const RIGHT_EYE_OUTER: usize = 33;
    pub const RIGHT_EYE_INNER: usize = 133;
    pub const LEFT_EYE_INNER: usize = 362;
    pub const LEFT_EYE_OUTER: usize = 263;
    pub const NOSE_TIP: usize = 1;
    pub const MOUTH_RIGHT: usize = 61;
    pub const MOUTH_LEFT: usize = 291;
    pub const CHIN: usize = 152;
}

#[derive(Debug, Clone)]
pub struct FaceLandmarks {
    /// x, y in the photo's pixels; z relative depth in the same units (smaller is nearer the camera).
    pub points: Vec<Vec3>,
    /// The model's confidence that the crop holds a face.
    pub presence: f32,
}

impl FaceLandmarks {
    pub fn point(&self, i: usize) -> Vec2 {
        self.points[i].truncate()
    }

    /// The centres of the right and left eye (between their corners).
    pub fn eye_centres(&self) -> (Vec2, Vec2) {
        use index::*;
        (
            (self.point(RIGHT_EYE_OUTER) + self.point(RIGHT_EYE_INNER)) / 2.0,
            (self.point(LEFT_EYE_OUTER) + self.point(LEFT_EYE_INNER)) / 2.0,
        )
    }

    /// The distance between the eye centres: the scale the fit's errors are measured against.
    pub fn inter_ocular(&self) -> f32 {
        let (r, l) = self.eye_centres();
        r.distance(l)
    }
}

/// The square a face is cropped to, in the photo's pixels.
#[derive(Debug, Clone, Copy)]
struct Roi {
    centre: Vec2,
    side: f32,
    /// Rotates crop directions into photo directions.
    rotation: Mat2,
}

impl Roi {
    fn around(face: &FaceBox) -> Roi {
        let eyes = face.keypoints[LEFT_EYE] - face.keypoints[RIGHT_EYE];
        Roi {
            centre: face.centre,
            side: face.size.max_element() * ROI_SCALE,
            rotation: Mat2::from_angle(eyes.y.atan2(eyes.x)),
        }
    }

    /// A point of the crop (its pixels, 0..SIDE) in the photo.
    fn to_photo(self, crop: Vec2) -> Vec2 {
        self.centre + self.rotation * ((crop / SIDE as f32 - Vec2::splat(0.5)) * self.side)
    }
}

pub struct Mesher {
    model: OnnxModel,
}

impl Mesher {
    pub fn load(path: &Path) -> Result<Mesher, FaceError> {
        Ok(Mesher {
            model: OnnxModel::load("face mesh", path, &[1, SIDE, SIDE, 3])?,
        })
    }

    /// The landmarks of the face `face` found in `photo`.
    pub fn landmarks(&self, photo: &Photo, face: &FaceBox) -> Result<FaceLandmarks, FaceError> {
        let roi = Roi::around(face);
        let mut input = Vec::with_capacity(SIDE * SIDE * 3);
        for y in 0..SIDE {
            for x in 0..SIDE {
                let at = roi.to_photo(Vec2::new(x as f32 + 0.5, y as f32 + 0.5));
                input.extend(photo.sample(at).map(|c| c / 255.0));
            }
        }
        let outputs = self.model.run(input)?;
        let (coords, presence) = match outputs.as_slice() {
            [a, b] if a.len() == POINTS * 3 => (a, b),
            [a, b] if b.len() == POINTS * 3 => (b, a),
            _ => {
                return Err(FaceError::Run {
                    model: "face mesh",
                    message: "unexpected outputs".into(),
                });
            }
        };
        let scale = roi.side / SIDE as f32;
        let points = coords
            .chunks(3)
            .map(|p| roi.to_photo(Vec2::new(p[0], p[1])).extend(p[2] * scale))
            .collect();
        let logit = presence.first().copied().unwrap_or(f32::MIN);
        Ok(FaceLandmarks {
            points,
            presence: 1.0 / (1.0 + (-logit).exp()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crop_turns_with_the_eye_line() {
        let mut keypoints = [Vec2::ZERO; 6];
        keypoints[RIGHT_EYE] = Vec2::new(90.0, 90.0);
        keypoints[LEFT_EYE] = Vec2::new(110.0, 110.0);
        let face = FaceBox {
            centre: Vec2::new(100.0, 100.0),
            size: Vec2::splat(64.0),
            keypoints,
            score: 1.0,
        };
        let roi = Roi::around(&face);
        let centre = roi.to_photo(Vec2::splat(SIDE as f32 / 2.0));
        assert!(centre.distance(face.centre) < 1e-4);
        // The crop's x axis runs along the eye line, down to the right here.
        let right = roi.to_photo(Vec2::new(SIDE as f32, SIDE as f32 / 2.0)) - centre;
        assert!(
            (right.normalize() - Vec2::new(1.0, 1.0).normalize()).length() < 1e-4,
            "{right}"
        );
        assert!((right.length() - 48.0).abs() < 1e-3);
    }
}
