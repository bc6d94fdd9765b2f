//! `XR_EXT_local_floor`: a floor-level space in front of the user, for placing the twin standing on the
//! floor where the runtime has no STAGE space.

use openxr::ExtensionSet;

pub fn request(available: &ExtensionSet, wanted: &mut ExtensionSet) {
    wanted.ext_local_floor = available.ext_local_floor;
}

pub fn enabled(set: &ExtensionSet) -> bool {
    set.ext_local_floor
}
