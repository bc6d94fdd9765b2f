//! `XR_EXT_hand_interaction`: tracked hands as an interaction profile, so a pinch moves the twin as a
//! controller's trigger does.

use openxr::ExtensionSet;

pub fn request(available: &ExtensionSet, wanted: &mut ExtensionSet) {
    wanted.ext_hand_interaction = available.ext_hand_interaction;
}

pub fn enabled(set: &ExtensionSet) -> bool {
    set.ext_hand_interaction
}
