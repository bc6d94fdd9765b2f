//! Opening the OpenXR runtime: the loader, an instance with `XR_KHR_vulkan_enable2` (required: the renderer
//! is Vulkan) and the optional extensions this runtime offers, and the head-mounted system.

use crate::XrError;
use crate::ext;
use openxr as xr;

/// An open runtime, long-lived: sessions are made from it.
pub struct Runtime {
    /// Kept alive: the instance's functions come from it.
    pub entry: xr::Entry,
    pub instance: xr::Instance,
    pub system: xr::SystemId,
    /// The extensions enabled on `instance`.
    pub extensions: xr::ExtensionSet,
}

/// What a runtime offers, for `twin xr probe` and for choosing how to show the room.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Probe {
    pub runtime: String,
    pub runtime_version: String,
    pub system: String,
    pub orientation_tracking: bool,
    pub position_tracking: bool,
    /// "opaque", "additive", "alpha_blend": how the runtime mixes the app with the real world.
    pub blend_modes: Vec<String>,
    /// Each eye's recommended image size (stereo: two).
    pub views: Vec<(u32, u32)>,
    pub passthrough: bool,
    pub local_floor: bool,
    pub eye_gaze: bool,
    pub spatial_anchors: bool,
}

impl Runtime {
    /// The runtime of a desktop system (Linux, Windows): the loader finds it.
    pub fn open(app_name: &str) -> Result<Runtime, XrError> {
        Self::open_on(app_name, &(), false)
    }

    /// On a platform that needs its own start (Android: the Java VM and the activity, `android` true for
    /// `XR_KHR_android_create_instance`).
    pub fn open_on(
        app_name: &str,
        platform: &impl xr::PlatformInfo,
        android: bool,
    ) -> Result<Runtime, XrError> {
        // SAFETY: loads the system's OpenXR loader library (initialized for the platform); its absence is
        // reported.
        let entry =
            unsafe { xr::Entry::load(platform) }.map_err(|e| XrError::NoLoader(e.to_string()))?;
        let wanted = wanted_extensions(&entry, android)?;
        let app = xr::ApplicationInfo {
            application_name: app_name,
            application_version: 0,
            engine_name: "twin",
            engine_version: 0,
            // The OpenXR 1.0 core: Debian 12's loader (1.0.20) knows no later one, and the app needs no more.
            api_version: xr::Version::new(1, 0, 0),
        };
        let instance = entry
            .create_instance(&app, &wanted, &[], platform)
            .map_err(|e| match e {
                xr::sys::Result::ERROR_RUNTIME_UNAVAILABLE
                | xr::sys::Result::ERROR_RUNTIME_FAILURE => XrError::NoRuntime(e.to_string()),
                e => XrError::Xr {
                    what: "creating the instance",
                    result: e,
                },
            })?;
        let system = instance
            .system(xr::FormFactor::HEAD_MOUNTED_DISPLAY)
            .map_err(|e| match e {
                xr::sys::Result::ERROR_FORM_FACTOR_UNAVAILABLE => XrError::NoHeadset(e.to_string()),
                e => XrError::Xr {
                    what: "finding the head-mounted display",
                    result: e,
                },
            })?;
        Ok(Runtime {
            entry,
            instance,
            system,
            extensions: wanted,
        })
    }

    pub fn probe(&self) -> Result<Probe, XrError> {
        let props = self
            .instance
            .properties()
            .map_err(XrError::xr("reading the runtime's properties"))?;
        let system = self
            .instance
            .system_properties(self.system)
            .map_err(XrError::xr("reading the system's properties"))?;
        let stereo = xr::ViewConfigurationType::PRIMARY_STEREO;
        let blend_modes = self
            .instance
            .enumerate_environment_blend_modes(self.system, stereo)
            .map_err(XrError::xr("listing environment blend modes"))?
            .into_iter()
            .map(|m| match m {
                xr::EnvironmentBlendMode::OPAQUE => "opaque".to_string(),
                xr::EnvironmentBlendMode::ADDITIVE => "additive".to_string(),
                xr::EnvironmentBlendMode::ALPHA_BLEND => "alpha_blend".to_string(),
                other => format!("{other:?}"),
            })
            .collect();
        let views = self
            .instance
            .enumerate_view_configuration_views(self.system, stereo)
            .map_err(XrError::xr("reading the stereo views"))?
            .iter()
            .map(|v| {
                (
                    v.recommended_image_rect_width,
                    v.recommended_image_rect_height,
                )
            })
            .collect();
        Ok(Probe {
            runtime: props.runtime_name,
            runtime_version: props.runtime_version.to_string(),
            system: system.system_name,
            orientation_tracking: system.tracking_properties.orientation_tracking,
            position_tracking: system.tracking_properties.position_tracking,
            blend_modes,
            views,
            passthrough: ext::passthrough::enabled(&self.extensions),
            local_floor: ext::local_floor::enabled(&self.extensions),
            eye_gaze: ext::eye_gaze::enabled(&self.extensions),
            spatial_anchors: ext::spatial_anchors::enabled(&self.extensions),
        })
    }
}

/// The extensions to ask for: Vulkan (required), Android's instance creation where `android`, and the
/// optional ones the runtime has.
fn wanted_extensions(entry: &xr::Entry, android: bool) -> Result<xr::ExtensionSet, XrError> {
    let available = entry
        .enumerate_extensions()
        .map_err(|e| XrError::NoRuntime(e.to_string()))?;
    if !available.khr_vulkan_enable2 {
        return Err(XrError::Missing("XR_KHR_vulkan_enable2"));
    }
    let mut wanted = xr::ExtensionSet::default();
    wanted.khr_vulkan_enable2 = true;
    #[cfg(not(target_os = "android"))]
    if android {
        return Err(XrError::Missing(
            "XR_KHR_android_create_instance (only in an Android build)",
        ));
    }
    #[cfg(target_os = "android")]
    if android {
        if !available.khr_android_create_instance {
            return Err(XrError::Missing("XR_KHR_android_create_instance"));
        }
        wanted.khr_android_create_instance = true;
    }
    ext::request_optional(&available, &mut wanted);
    Ok(wanted)
}
