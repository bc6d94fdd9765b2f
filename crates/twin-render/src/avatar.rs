//! A glTF avatar as the renderer's meshes: materials from the file, vertices posed on the CPU each frame.

use crate::RenderError;
use crate::renderer::{Material, MeshData, Renderer};
use glam::{Mat4, Vec3};
use std::collections::HashMap;
use twin_avatar::skin::{self, Loaded, Posed};

pub struct AvatarScene {
    pub loaded: Loaded,
}

/// Skin-like materials get the subsurface approximation.
fn is_skin(name: &str) -> bool {
    let n = name.to_lowercase();
    ["skin", "face", "head", "body", "hand", "lip"]
        .iter()
        .any(|k| n.contains(k))
}

impl AvatarScene {
    pub fn new(loaded: Loaded) -> AvatarScene {
        AvatarScene { loaded }
    }

    fn material(&self, index: Option<usize>) -> Material {
        let m = index.and_then(|i| self.loaded.doc.materials().nth(i));
        match m {
            Some(m) => {
                let pbr = m.pbr_metallic_roughness();
                Material {
                    base_color: pbr.base_color_factor(),
                    roughness: pbr.roughness_factor(),
                    metallic: pbr.metallic_factor(),
                    subsurface: if is_skin(m.name().unwrap_or("")) {
                        1.0
                    } else {
                        0.0
                    },
                }
            }
            None => Material {
                base_color: [0.8, 0.8, 0.8, 1.0],
                roughness: 0.6,
                metallic: 0.0,
                subsurface: 0.0,
            },
        }
    }

    /// Poses the avatar (morph weights by name, node transforms overridden) .
    pub fn pose(&self, weights: &HashMap<String, f32>, local: &HashMap<usize, Mat4>) -> Vec<Posed> {
        skin::pose(&self.loaded, weights, local)
    }

    /// Uploads the posed avatar: the first call sets the meshes, later ones only the vertices.
    pub fn upload(
        &self,
        renderer: &mut Renderer,
        posed: &[Posed],
        first: bool,
    ) -> Result<(), RenderError> {
        if first {
            let meshes: Vec<MeshData> = posed
                .iter()
                .map(|p| MeshData {
                    positions: &p.positions,
                    normals: &p.normals,
                    indices: &p.indices,
                    material: self.material(p.material),
                })
                .collect();
            renderer.set_meshes(&meshes)
        } else {
            for (i, p) in posed.iter().enumerate() {
                renderer.update_vertices(i, &p.positions, &p.normals)?;
            }
            Ok(())
        }
    }

    /// The posed avatar's bounds.
    pub fn bounds(posed: &[Posed]) -> (Vec3, Vec3) {
        posed.iter().flat_map(|p| p.positions.iter()).fold(
            (Vec3::splat(f32::MAX), Vec3::splat(f32::MIN)),
            |(lo, hi), p| (lo.min(*p), hi.max(*p)),
        )
    }
}
