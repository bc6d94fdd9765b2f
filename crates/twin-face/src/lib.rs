//! A person's face in their photos: found by MediaPipe's short-range face detector (BlazeFace), then its 468
//! Face Mesh landmarks, both run by ONNX Runtime (the library sherpa-onnx ships). The likeness fit
//! (`twin avatar from-photos`) starts from these landmarks.

pub mod bake;
pub mod colours;
pub mod detect;
pub mod dlib68;
pub mod fit;
pub mod lab;
pub mod landmarks;
pub mod likeness;
mod linalg;
pub mod onnx;
pub mod photo;
pub mod score;

pub use detect::{Detector, FaceBox};
pub use landmarks::{FaceLandmarks, Mesher};
pub use photo::Photo;

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    #[error("{path}: {message}")]
    Photo { path: String, message: String },
    #[error("face model {path}: {message} (run `cargo xtask setup`)")]
    Model { path: String, message: String },
    #[error("running the face model {model}: {message}")]
    Run {
        model: &'static str,
        message: String,
    },
    #[error("no face found in {0}")]
    NoFace(String),
}

/// The face models' folder under a models directory (`models/mediapipe-face`).
pub fn models_dir(models: &Path) -> PathBuf {
    models.join("mediapipe-face")
}

/// Finds the most confident face of `photo` and its landmarks.
pub struct FaceReader {
    detector: Detector,
    mesher: Mesher,
}

impl FaceReader {
    /// Loads both models from `dir` (see [`models_dir`]).
    pub fn load(dir: &Path) -> Result<FaceReader, FaceError> {
        Ok(FaceReader {
            detector: Detector::load(&dir.join("face_detection_short_range.onnx"))?,
            mesher: Mesher::load(&dir.join("face_landmark.onnx"))?,
        })
    }

    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// The photo's most confident face and its landmarks; `name` names the photo in errors.
    pub fn read(&self, photo: &Photo, name: &str) -> Result<(FaceBox, FaceLandmarks), FaceError> {
        let face = self
            .detector
            .detect(photo)?
            .into_iter()
            .next()
            .ok_or_else(|| FaceError::NoFace(name.to_string()))?;
        let landmarks = self.mesher.landmarks(photo, &face)?;
        if landmarks.presence < 0.5 {
            return Err(FaceError::NoFace(name.to_string()));
        }
        Ok((face, landmarks))
    }
}
