//! Twin: meet a person's conversational digital twin.
//!
//! This package is the client side: the voice loop (capture, speaker) and the link to the edge server;
//! the avatar and renderer are crates of their own, and the OpenXR headset app joins as the roadmap goes (mic → speech → link → server → … → audio + avatar → XR).

pub mod avatar;
pub mod conversation;
pub mod headset;
pub mod link;
pub mod sync;
pub mod voice;
