//! The twin in motion, per frame, on the CPU.
//!
//! An avatar is decoded once into a [`Rig`] (flat arrays: nodes, sparse morph targets, skin bindings). Each
//! frame the [`Animator`] turns the conversation's state (speaking with a lip-sync track on the playback
//! clock, listening, thinking) and where the viewer is into a [`Pose`]; the [`Deformer`] applies it: morph
//! targets, then skinning with rayon. Primitives that move whole get a model matrix instead of new vertices.

pub mod animator;
pub mod clip;
pub mod deform;
pub mod gaze;
pub mod motion;
pub mod mouth;
pub mod rig;
pub mod rng;

pub use animator::{Animator, Inputs, Mode, Speech};
pub use clip::Clip;
pub use deform::{Deformed, Deformer, Skinning};
pub use mouth::{MouthMap, MouthTrack};
pub use rig::{LocalOverride, NodeOffset, Pose, Rig};

#[derive(Debug, thiserror::Error)]
pub enum AnimateError {
    #[error("bad lip-sync track: {0}")]
    Track(String),
}
