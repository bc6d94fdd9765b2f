//! The headset: OpenXR, kept thin. `runtime` opens the runtime (the loader, an instance with the extensions
//! the app uses when the runtime has them, the head-mounted system); `ext/` holds one file per vendor or
//! optional extension, saying what it is for and whether this runtime offers it; `vulkan` adopts the
//! runtime's Vulkan instance and device for the renderer; `session` runs the session, its swapchains and the
//! frame loop (view poses fetched at the last moment); `backdrop` and `input` the room and the hands.

/// The OpenXR bindings this crate uses, for platform code (Android's instance start).
pub use openxr;

pub mod backdrop;
pub mod ext;
pub mod input;
pub mod runtime;
pub mod session;
pub mod vulkan;

pub use runtime::{Probe, Runtime};

/// One error for the headset side: OpenXR's results with what was being done, and the loader or runtime
/// missing, and Vulkan's on the headset's side.
#[derive(Debug, thiserror::Error)]
pub enum XrError {
    #[error("no OpenXR loader ({0}): install libopenxr-loader1 (cargo xtask setup does)")]
    NoLoader(String),
    #[error(
        "no OpenXR runtime answered ({0}): start one (Monado, SteamVR, the Quest's) or point XR_RUNTIME_JSON at its manifest"
    )]
    NoRuntime(String),
    #[error("the OpenXR runtime has no head-mounted display connected ({0})")]
    NoHeadset(String),
    #[error("the OpenXR runtime lacks {0}, which the app needs")]
    Missing(&'static str),
    #[error("Vulkan for the headset: {0}")]
    Vulkan(String),
    #[error("OpenXR failed {what}: {result}")]
    Xr {
        what: &'static str,
        result: openxr::sys::Result,
    },
}

impl XrError {
    /// Maps an OpenXR result, naming what was being done.
    pub fn xr(what: &'static str) -> impl Fn(openxr::sys::Result) -> XrError {
        move |result| XrError::Xr { what, result }
    }

    /// Worth retrying later (a runtime or headset that may appear), rather than a fault in the app.
    pub fn is_retryable(&self) -> bool {
        matches!(self, XrError::NoRuntime(_) | XrError::NoHeadset(_))
    }
}
