//! `XR_EXT_eye_gaze_interaction`: where the user looks, for mutual gaze with natural breaks (without it the
//! twin looks at the user's head).

use openxr::ExtensionSet;

pub fn request(available: &ExtensionSet, wanted: &mut ExtensionSet) {
    wanted.ext_eye_gaze_interaction = available.ext_eye_gaze_interaction;
}

pub fn enabled(set: &ExtensionSet) -> bool {
    set.ext_eye_gaze_interaction
}
