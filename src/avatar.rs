//! Loading an avatar file for drawing, the same way in every client (headset, window, renders).

use anyhow::{Context, Result};
use std::path::Path;
use twin_scene::AvatarScene;

/// The avatar at `path` (glb or gltf, its external files beside it), ready to attach to a renderer.
pub fn load_scene(path: &Path) -> Result<AvatarScene> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read the avatar {} (cargo xtask setup builds the demo's)",
            path.display()
        )
    })?;
    Ok(AvatarScene::new(twin_avatar::skin::load(
        &bytes,
        path.parent(),
    )?)?)
}
