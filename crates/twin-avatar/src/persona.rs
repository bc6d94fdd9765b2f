//! A persona's avatar: its pack's height and identity coefficients, built from the face model into a glb.

use crate::AvatarError;
use crate::ict::IctModel;
use crate::ict_avatar::{self, Albedo, BuildOptions, Built};
use std::path::Path;

/// Height when the pack gives none.
const DEFAULT_HEIGHT_M: f32 = 1.75;

/// What the avatar builder needs from a persona pack's `persona.toml`.
#[derive(Debug, Clone)]
pub struct PersonaAvatar {
    pub id: String,
    pub options: BuildOptions,
}

/// Reads the avatar's part of the pack in `dir`: its `persona.toml` and face texture.
pub fn read_persona(dir: &Path) -> Result<PersonaAvatar, AvatarError> {
    let path = dir.join("persona.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| AvatarError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| AvatarError::Invalid(format!("{}: {}", path.display(), e.message())))?;
    let id = table
        .get("id")
        .and_then(|v| v.as_str())
        .ok_or_else(|| AvatarError::Invalid(format!("{} has no id", path.display())))?
        .to_string();
    let height_m = height_m(&table, &path)?;
    let identity = identity(&table, &path)?;
    let albedo = read_albedo(&dir.join("avatar/albedo.png"))?;
    Ok(PersonaAvatar {
        id,
        options: BuildOptions {
            height_m,
            identity,
            albedo,
            iris: colour(&table, &path, "iris")?,
            hair: colour(&table, &path, "hair")?,
            shape: shape(&table, &path)?,
            body: None,
        },
    })
}

/// `height_m`, or the default where the pack gives none.
fn height_m(table: &toml::Table, path: &Path) -> Result<f32, AvatarError> {
    Ok(match table.get("height_m") {
        None => DEFAULT_HEIGHT_M,
        Some(v) => v
            .as_float()
            .or_else(|| v.as_integer().map(|i| i as f64))
            .ok_or_else(|| {
                AvatarError::Invalid(format!("{}: height_m must be a number", path.display()))
            })? as f32,
    })
}

/// `[avatar] identity`: the identity coefficients, none where the pack gives none.
fn identity(table: &toml::Table, path: &Path) -> Result<Vec<f32>, AvatarError> {
    let not_numbers = || {
        AvatarError::Invalid(format!(
            "{}: avatar.identity must be a list of numbers",
            path.display()
        ))
    };
    match table.get("avatar").and_then(|a| a.get("identity")) {
        None => Ok(Vec::new()),
        Some(v) => v
            .as_array()
            .ok_or_else(not_numbers)?
            .iter()
            .map(|c| {
                c.as_float()
                    .or_else(|| c.as_integer().map(|i| i as f64))
                    .map(|f| f as f32)
            })
            .collect::<Option<Vec<f32>>>()
            .ok_or_else(not_numbers),
    }
}

/// `[avatar] key` as a colour (linear RGB), if given.
fn colour(table: &toml::Table, path: &Path, key: &str) -> Result<Option<[f32; 3]>, AvatarError> {
    match table.get("avatar").and_then(|a| a.get(key)) {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .and_then(linear_from_hex)
            .map(Some)
            .ok_or_else(|| {
                AvatarError::Invalid(format!(
                    "{}: avatar.{key} must be a colour like \"#6b4f3a\"",
                    path.display()
                ))
            }),
    }
}

/// `[avatar] body`: the body's build, neutral where the pack gives none.
fn shape(table: &toml::Table, path: &Path) -> Result<crate::makehuman::Shape, AvatarError> {
    match table.get("avatar").and_then(|a| a.get("body")) {
        None => Ok(Default::default()),
        Some(v) => v
            .as_str()
            .ok_or_else(|| {
                AvatarError::Invalid(format!("{}: avatar.body must be text", path.display()))
            })?
            .parse()
            .map_err(|e| AvatarError::Invalid(format!("{}: {e}", path.display()))),
    }
}

/// "#rrggbb" (sRGB) as linear RGB.
fn linear_from_hex(text: &str) -> Option<[f32; 3]> {
    let hex = text.strip_prefix('#').filter(|h| h.len() == 6)?;
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    let srgb = [channel(0)?, channel(2)?, channel(4)?];
    Some(srgb.map(|c| (f32::from(c) / 255.0).powf(2.2)))
}

/// The pack's face texture (`avatar/albedo.png`, written by `twin avatar from-photos`), where there is one.
fn read_albedo(path: &Path) -> Result<Option<Albedo>, AvatarError> {
    let png = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(AvatarError::Read {
                path: path.display().to_string(),
                reason: e.to_string(),
            });
        }
    };
    let bad = |reason: String| AvatarError::Read {
        path: path.display().to_string(),
        reason,
    };
    let image = crate::texture::decode_bytes(&png).map_err(bad)?;
    let mut sum = [0.0f64; 3];
    for p in image.pixels.chunks_exact(4) {
        for c in 0..3 {
            sum[c] += (f64::from(p[c]) / 255.0).powf(2.2);
        }
    }
    let n = (image.pixels.len() / 4).max(1) as f64;
    Ok(Some(Albedo {
        png,
        skin: sum.map(|s| (s / n) as f32),
    }))
}

/// Builds `persona`'s avatar from the face model in `face_model` and writes it to `out`.
pub fn build_persona(
    face_model: &Path,
    persona: &PersonaAvatar,
    out: &Path,
) -> Result<Built, AvatarError> {
    let model = IctModel::load(face_model, persona.options.identity.len())?;
    let mut persona = persona.clone();
    if let Some(models) = face_model.parent() {
        persona.options.body = crate::makehuman::load_beside(models, persona.options.shape)?;
    }
    build_persona_from(&model, &persona, out)
}

/// [`build_persona`] with the face model already loaded (with at least the persona's identity modes).
pub fn build_persona_from(
    model: &IctModel,
    persona: &PersonaAvatar,
    out: &Path,
) -> Result<Built, AvatarError> {
    let built = ict_avatar::build(model, &persona.options)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| AvatarError::Read {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
    }
    let tmp = out.with_extension("glb.part");
    std::fs::write(&tmp, &built.glb)
        .and_then(|()| std::fs::rename(&tmp, out))
        .map_err(|e| AvatarError::Read {
            path: out.display().to_string(),
            reason: e.to_string(),
        })?;
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::makehuman::Shape;

    fn pack(avatar: &str) -> Result<PersonaAvatar, AvatarError> {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("id = \"p\"\nheight_m = 1.7\n[avatar]\n{avatar}\n");
        std::fs::write(dir.path().join("persona.toml"), text).unwrap();
        read_persona(dir.path())
    }

    #[test]
    fn the_body_build_is_read_and_a_wrong_one_named() {
        assert_eq!(
            pack("body = \"female\"").unwrap().options.shape,
            Shape::Female
        );
        assert_eq!(pack("").unwrap().options.shape, Shape::Neutral);
        let err = pack("body = \"tall\"").err().unwrap().to_string();
        assert!(
            err.contains("avatar.body") && err.contains("\"tall\""),
            "{err}"
        );
        let err = pack("body = 3").err().unwrap().to_string();
        assert!(err.contains("avatar.body must be text"), "{err}");
    }
}
