//! `XR_FB_passthrough` (Meta Quest): the camera view of the room behind the twin, where the runtime has no
//! alpha-blend environment mode. Without either, the twin stands in an opaque, softly lit neutral room. This
//! file owns the extension: asking for it, starting it, and its composition layer under ours.

use crate::XrError;
use openxr as xr;
use openxr::ExtensionSet;

pub fn request(available: &ExtensionSet, wanted: &mut ExtensionSet) {
    wanted.fb_passthrough = available.fb_passthrough;
}

pub fn enabled(set: &ExtensionSet) -> bool {
    set.fb_passthrough
}

/// The room's camera view, running from creation. The layer comes before the feature it uses (drop order).
pub struct Passthrough {
    layer: xr::PassthroughLayerFB,
    _feature: xr::Passthrough,
}

impl Passthrough {
    pub fn start<G: xr::Graphics>(session: &xr::Session<G>) -> Result<Passthrough, XrError> {
        // Running from creation: the crate's `start` is not needed (and calls the pause entry point in 0.22).
        let feature = session
            .create_passthrough(xr::PassthroughFlagsFB::IS_RUNNING_AT_CREATION)
            .map_err(XrError::xr("creating the passthrough"))?;
        let layer = session
            .create_passthrough_layer(
                &feature,
                xr::PassthroughFlagsFB::IS_RUNNING_AT_CREATION,
                xr::PassthroughLayerPurposeFB::RECONSTRUCTION,
            )
            .map_err(XrError::xr("creating the passthrough layer"))?;
        Ok(Passthrough {
            layer,
            _feature: feature,
        })
    }

    /// Ends the frame with the room under `ours`.
    pub fn end_frame(
        &self,
        stream: &mut xr::FrameStream<xr::Vulkan>,
        display_time: xr::Time,
        blend: xr::EnvironmentBlendMode,
        space: &xr::Space,
        ours: &xr::CompositionLayerBase<'_, xr::Vulkan>,
    ) -> xr::Result<()> {
        let room = xr::sys::CompositionLayerPassthroughFB {
            ty: xr::sys::CompositionLayerPassthroughFB::TYPE,
            next: std::ptr::null(),
            flags: xr::CompositionLayerFlags::BLEND_TEXTURE_SOURCE_ALPHA,
            space: space.as_raw(),
            layer_handle: self.layer.as_raw(),
        };
        // SAFETY: every composition layer begins with the base header; the crate's own layer builders are this
        // cast (its passthrough builder is not exported in 0.22). `room` outlives the call.
        let room = unsafe {
            &*(&room as *const xr::sys::CompositionLayerPassthroughFB
                as *const xr::CompositionLayerBase<xr::Vulkan>)
        };
        stream.end(display_time, blend, &[room, ours])
    }
}
