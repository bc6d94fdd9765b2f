//! Spatial anchors (`XR_FB_spatial_entity` on Quest, `XR_MSFT_spatial_anchor` elsewhere): the twin's place
//! kept per room; without them it is kept in a local file.

use openxr::ExtensionSet;

pub fn request(available: &ExtensionSet, wanted: &mut ExtensionSet) {
    wanted.fb_spatial_entity = available.fb_spatial_entity;
    wanted.msft_spatial_anchor = available.msft_spatial_anchor;
}

pub fn enabled(set: &ExtensionSet) -> bool {
    set.fb_spatial_entity || set.msft_spatial_anchor
}
