//! The classic 68-point face layout (iBUG/dlib), read off MediaPipe's 468-point mesh: the layout the ICT face
//! model names its landmark vertices in (`FaceXModel/vertex_indices.json`), so photo and model meet there.
//! The subject's right comes first (the photo's left).

use crate::landmarks::FaceLandmarks;
use glam::Vec2;

/// For each of the 68 points, the Face Mesh point at the same place on the face.
pub const FROM_MESH: [usize; 68] = [
    // Jaw line, from the right ear down to the chin and up to the left ear (0-16).
    127, 234, 93, 132, 58, 136, 150, 176, 152, 400, 379, 365, 288, 361, 323, 454, 356,
    // Brows (17-21 right, 22-26 left).
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
    // Nose bridge (27-30) and base (31-35).
    168, 197, 5, 4, 75, 97, 2, 326, 305,
    // Right eye (36-41), left eye (42-47): outer corner first, clockwise.
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
    // Outer lips (48-59), inner lips (60-67).
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181, 78, 82, 13, 312, 308, 317, 14, 87,
];

/// The jaw line: a silhouette, not fixed points of the skin, so the fit trusts it less.
pub const JAW: std::ops::Range<usize> = 0..17;
/// The inner face (brows, nose, eyes, lips): what the fit's error is measured on.
pub const INNER: std::ops::Range<usize> = 17..68;
pub const RIGHT_EYE: std::ops::Range<usize> = 36..42;
pub const LEFT_EYE: std::ops::Range<usize> = 42..48;

/// The 68 points of a face's landmarks, in the photo's pixels.
pub fn points(landmarks: &FaceLandmarks) -> Vec<Vec2> {
    FROM_MESH.iter().map(|&i| landmarks.point(i)).collect()
}

/// The distance between the eye centres of 68 points.
pub fn inter_ocular(points: &[Vec2]) -> f32 {
    let centre = |r: std::ops::Range<usize>| {
        let n = r.len() as f32;
        points[r].iter().sum::<Vec2>() / n
    };
    centre(RIGHT_EYE).distance(centre(LEFT_EYE))
}
