//! The Twin renderer on Vulkan (`ash`).
//!
//! A long-lived [`GpuContext`] (instance, device, queue) and a [`Renderer`] (render pass, pipeline, the
//! avatar's meshes) draw into targets: [`offscreen::OffscreenTarget`], a desktop window ([`window::WindowTarget`]) and OpenXR
//! swapchain images (`twin-xr`), all through the same pass. Stereo is one multiview pass (`gl_ViewIndex`); shading
//! is linear with physically based lights and a skin approximation, written to sRGB attachments.

pub mod compare;
pub mod context;
pub mod memory;
pub mod offscreen;
pub mod renderer;
mod textures;
pub mod window;

pub use context::GpuContext;
pub use renderer::{
    Lighting, Material, MeshData, PanelData, Renderer, SkinData, TextureData, View,
};

use ash::vk;

/// Every failure of the renderer: Vulkan's own results with what was being done, and the rest.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("Vulkan is not available: {0}")]
    NoVulkan(String),
    #[error("Vulkan failed {what}: {result}")]
    Vulkan {
        what: &'static str,
        result: vk::Result,
    },
    #[error("no device memory with {0:?}")]
    NoMemory(vk::MemoryPropertyFlags),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Avatar(#[from] twin_avatar::AvatarError),
}

impl RenderError {
    /// Wraps a `vk::Result` with what was being done.
    pub fn vk(what: &'static str) -> impl Fn(vk::Result) -> RenderError {
        move |result| RenderError::Vulkan { what, result }
    }

    /// Worth retrying (a lost device can be recreated); the rest is fatal for this context.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            RenderError::Vulkan {
                result: vk::Result::ERROR_DEVICE_LOST
                    | vk::Result::ERROR_OUT_OF_DATE_KHR
                    | vk::Result::TIMEOUT,
                ..
            }
        )
    }
}
