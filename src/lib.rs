//! Twin: meet a person's conversational digital twin.
//!
//! This package is the client side: the link to the edge server now; speech, avatar, renderer and the
//! OpenXR headset app join it as the roadmap goes (mic → speech → link → server → … → audio + avatar → XR).

pub mod link;
