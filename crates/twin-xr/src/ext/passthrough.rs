//! `XR_FB_passthrough` (Meta Quest): the camera view of the room behind the twin, where the runtime has no
//! alpha-blend environment mode. Without either, the twin stands in an opaque, softly lit neutral room.

use openxr::ExtensionSet;

pub fn request(available: &ExtensionSet, wanted: &mut ExtensionSet) {
    wanted.fb_passthrough = available.fb_passthrough;
}

pub fn enabled(set: &ExtensionSet) -> bool {
    set.fb_passthrough
}
