//! Optional OpenXR extensions, one file each: what the app uses it for, and how to ask for it.

pub mod eye_gaze;
pub mod hand_interaction;
pub mod local_floor;
pub mod passthrough;
pub mod spatial_anchors;

use openxr::ExtensionSet;

/// Turns on every optional extension the runtime offers (in `wanted`), from what it has (`available`).
pub fn request_optional(available: &ExtensionSet, wanted: &mut ExtensionSet) {
    passthrough::request(available, wanted);
    local_floor::request(available, wanted);
    eye_gaze::request(available, wanted);
    spatial_anchors::request(available, wanted);
    hand_interaction::request(available, wanted);
}
