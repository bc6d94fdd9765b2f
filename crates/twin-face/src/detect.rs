//! MediaPipe's short-range face detector (BlazeFace): a letterboxed 128×128 view of the photo, 896 SSD anchors,
//! each a box and six keypoints; confident boxes merged by weighted non-maximum suppression, as MediaPipe does.

use crate::onnx::OnnxModel;
use crate::{FaceError, Photo};
use glam::Vec2;
use std::path::Path;

const SIDE: usize = 128;
/// Below this confidence a box is no face (MediaPipe's threshold for this model).
const MIN_SCORE: f32 = 0.5;
/// Boxes overlapping more than this are one face.
const SAME_FACE_IOU: f32 = 0.3;

/// Keypoints in the detector's order (the subject's right eye is on the photo's left).
pub const RIGHT_EYE: usize = 0;
pub const LEFT_EYE: usize = 1;
pub const NOSE_TIP: usize = 2;
pub const MOUTH: usize = 3;

/// A face found in a photo, in the photo's pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceBox {
    pub centre: Vec2,
    pub size: Vec2,
    /// Right eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion.
    pub keypoints: [Vec2; 6],
    pub score: f32,
}

impl FaceBox {
    fn iou(&self, other: &FaceBox) -> f32 {
        let lo = (self.centre - self.size / 2.0).max(other.centre - other.size / 2.0);
        let hi = (self.centre + self.size / 2.0).min(other.centre + other.size / 2.0);
        let overlap = (hi - lo).max(Vec2::ZERO);
        let inter = overlap.x * overlap.y;
        let union = self.size.x * self.size.y + other.size.x * other.size.y - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }
}

pub struct Detector {
    model: OnnxModel,
    anchors: Vec<Vec2>,
}

impl Detector {
    pub fn load(path: &Path) -> Result<Detector, FaceError> {
        Ok(Detector {
            model: OnnxModel::load("face detector", path, &[1, 3, SIDE, SIDE])?,
            anchors: anchors(),
        })
    }

    /// The faces of `photo`, most confident first.
    pub fn detect(&self, photo: &Photo) -> Result<Vec<FaceBox>, FaceError> {
        let view = Letterbox::of(photo);
        let outputs = self.model.run(view.input(photo))?;
        let (regressors, scores) = match outputs.as_slice() {
            [a, b] if a.len() == self.anchors.len() * 16 => (a, b),
            [a, b] => (b, a),
            _ => {
                return Err(FaceError::Run {
                    model: "face detector",
                    message: format!("{} outputs, expected 2", outputs.len()),
                });
            }
        };
        let mut boxes: Vec<FaceBox> = self
            .anchors
            .iter()
            .enumerate()
            .filter_map(|(i, &anchor)| {
                let score = sigmoid(scores.get(i)?.clamp(-100.0, 100.0));
                (score >= MIN_SCORE)
                    .then(|| decode(&regressors[i * 16..i * 16 + 16], anchor, score, &view))
            })
            .collect();
        boxes.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(weighted_nms(boxes))
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The SSD anchor centres of this model (fixed anchor size 1): strides 8 then 16, two anchors a cell on the
/// 16×16 grid and six on the 8×8 grid (three layers of stride 16 merged), 896 in all.
fn anchors() -> Vec<Vec2> {
    let mut anchors = Vec::with_capacity(896);
    for (stride, per_cell) in [(8usize, 2usize), (16, 6)] {
        let cells = SIDE / stride;
        for y in 0..cells {
            for x in 0..cells {
                let centre = Vec2::new(
                    (x as f32 + 0.5) / cells as f32,
                    (y as f32 + 0.5) / cells as f32,
                );
                anchors.extend(std::iter::repeat_n(centre, per_cell));
            }
        }
    }
    anchors
}

/// The photo fitted into the model's square without distortion: the longer side fills it, the shorter is
/// padded equally on both sides.
struct Letterbox {
    /// Photo pixels per model pixel.
    scale: f32,
    /// Where the model's square starts, in photo pixels (negative where padded).
    origin: Vec2,
}

impl Letterbox {
    fn of(photo: &Photo) -> Letterbox {
        let side = photo.width.max(photo.height) as f32;
        Letterbox {
            scale: side / SIDE as f32,
            origin: Vec2::new(
                (photo.width as f32 - side) / 2.0,
                (photo.height as f32 - side) / 2.0,
            ),
        }
    }

    /// Model coordinates in [0, 1] to photo pixels.
    fn to_photo(&self, p: Vec2) -> Vec2 {
        self.origin + p * SIDE as f32 * self.scale
    }

    /// The model's input: NCHW, RGB in [-1, 1], each model pixel the mean of the photo pixels it covers.
    fn input(&self, photo: &Photo) -> Vec<f32> {
        let taps = (self.scale.ceil() as usize).clamp(1, 8);
        let mut input = vec![0.0f32; 3 * SIDE * SIDE];
        for y in 0..SIDE {
            for x in 0..SIDE {
                let mut sum = [0.0f32; 3];
                for ty in 0..taps {
                    for tx in 0..taps {
                        let sub = Vec2::new(
                            x as f32 + (tx as f32 + 0.5) / taps as f32,
                            y as f32 + (ty as f32 + 0.5) / taps as f32,
                        );
                        let c = photo.sample(self.origin + sub * self.scale);
                        for k in 0..3 {
                            sum[k] += c[k];
                        }
                    }
                }
                for (k, s) in sum.iter().enumerate() {
                    let mean = s / (taps * taps) as f32;
                    input[k * SIDE * SIDE + y * SIDE + x] = mean / 127.5 - 1.0;
                }
            }
        }
        input
    }
}

fn decode(raw: &[f32], anchor: Vec2, score: f32, view: &Letterbox) -> FaceBox {
    let at = |i: usize| anchor + Vec2::new(raw[i], raw[i + 1]) / SIDE as f32;
    let keypoints = std::array::from_fn(|k| view.to_photo(at(4 + 2 * k)));
    FaceBox {
        centre: view.to_photo(at(0)),
        size: Vec2::new(raw[2], raw[3]) * view.scale,
        keypoints,
        score,
    }
}

/// MediaPipe's weighted suppression: each face is the score-weighted mean of the boxes that overlap the most
/// confident one left, with that one's score.
fn weighted_nms(mut boxes: Vec<FaceBox>) -> Vec<FaceBox> {
    let mut faces = Vec::new();
    while let Some(best) = boxes.first().cloned() {
        let (same, rest): (Vec<FaceBox>, Vec<FaceBox>) = boxes
            .into_iter()
            .partition(|b| b.iou(&best) > SAME_FACE_IOU);
        boxes = rest;
        let total: f32 = same.iter().map(|b| b.score).sum();
        let mean = |f: &dyn Fn(&FaceBox) -> Vec2| {
            same.iter().map(|b| f(b) * b.score).sum::<Vec2>() / total
        };
        faces.push(FaceBox {
            centre: mean(&|b| b.centre),
            size: mean(&|b| b.size),
            keypoints: std::array::from_fn(|k| mean(&|b| b.keypoints[k])),
            score: best.score,
        });
    }
    faces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_896_anchors_inside_the_square() {
        let a = anchors();
        assert_eq!(a.len(), 896);
        assert!(
            a.iter()
                .all(|p| p.x > 0.0 && p.x < 1.0 && p.y > 0.0 && p.y < 1.0)
        );
        assert_eq!(a[0], Vec2::new(0.5 / 16.0, 0.5 / 16.0));
        assert_eq!(a[512], Vec2::new(0.5 / 8.0, 0.5 / 8.0));
    }

    #[test]
    fn a_wide_photo_is_padded_above_and_below() {
        let view = Letterbox::of(&Photo::filled(400, 200, [0; 3]));
        assert_eq!(view.to_photo(Vec2::ZERO), Vec2::new(0.0, -100.0));
        assert_eq!(view.to_photo(Vec2::ONE), Vec2::new(400.0, 300.0));
    }

    #[test]
    fn overlapping_boxes_merge_into_one_face() {
        let face = |x: f32, score: f32| FaceBox {
            centre: Vec2::new(x, 50.0),
            size: Vec2::splat(40.0),
            keypoints: [Vec2::new(x, 50.0); 6],
            score,
        };
        let faces = weighted_nms(vec![face(50.0, 0.9), face(54.0, 0.9), face(200.0, 0.6)]);
        assert_eq!(faces.len(), 2);
        assert!((faces[0].centre.x - 52.0).abs() < 1e-4);
        assert_eq!(faces[0].score, 0.9);
    }
}
