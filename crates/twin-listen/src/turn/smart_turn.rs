//! Smart Turn v3.2 (BSD-2, Daily): the probability that the speaker has finished their turn, from the last 8 s
//! of their audio. Run by ONNX Runtime, as the face models are; 48–89 ms a call on one core.

use super::features::{FRAMES, LogMel, N_MELS};
use crate::ListenError;
use std::path::Path;
use twin_onnx::OnnxModel;

/// The model's file in its folder (`models/smart-turn`, from `cargo xtask setup`).
pub const FILE: &str = "smart-turn-v3.2-cpu.onnx";

pub struct SmartTurn {
    model: OnnxModel,
    mel: LogMel,
}

impl SmartTurn {
    pub fn load(dir: &Path) -> Result<SmartTurn, ListenError> {
        let path = dir.join(FILE);
        let shape = [1, N_MELS, FRAMES];
        let model =
            OnnxModel::load("Smart Turn", &path, &shape).map_err(|e| ListenError::Model {
                what: "Smart Turn",
                path: e.to_string(),
            })?;
        Ok(SmartTurn {
            model,
            mel: LogMel::new(),
        })
    }

    /// How likely it is that the turn in `audio` (16 kHz, the utterance so far) is complete, 0 to 1.
    pub fn complete(&self, audio: &[f32]) -> Result<f32, ListenError> {
        self.probability(self.mel.features(audio))
    }

    /// The model's output for features made elsewhere (`N_MELS` × `FRAMES`).
    pub fn probability(&self, features: Vec<f32>) -> Result<f32, ListenError> {
        let outputs = self
            .model
            .run(features)
            .map_err(|e| ListenError::Format(e.to_string()))?;
        outputs
            .first()
            .and_then(|o| o.first())
            .copied()
            .ok_or_else(|| ListenError::Format("Smart Turn gave no output".into()))
    }
}
