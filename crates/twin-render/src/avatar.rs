//! A glTF avatar as the renderer's meshes: materials from the file, the pose from [`twin_animate`]'s deformer
//! (vertices that moved, and a model matrix for primitives that move whole).

use crate::RenderError;
use crate::renderer::{Material, MeshData, Renderer};
use glam::Vec3;
use twin_animate::{Deformer, Pose, Rig};
use twin_avatar::skin::Loaded;

pub struct AvatarScene {
    pub loaded: Loaded,
    pub rig: Rig,
    pub deformer: Deformer,
}

/// Skin-like materials get the subsurface approximation.
fn is_skin(name: &str) -> bool {
    let n = name.to_lowercase();
    ["skin", "face", "head", "body", "hand", "lip"]
        .iter()
        .any(|k| n.contains(k))
}

impl AvatarScene {
    /// Decodes the avatar once; it starts at rest.
    pub fn new(loaded: Loaded) -> Result<AvatarScene, RenderError> {
        let rig = Rig::new(&loaded)?;
        let mut deformer = Deformer::new(&rig);
        deformer.apply(&rig, &Pose::rest(&rig));
        Ok(AvatarScene {
            loaded,
            rig,
            deformer,
        })
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

    /// Poses the avatar (morphs, then skinning).
    pub fn apply(&mut self, pose: &Pose) {
        self.deformer.apply(&self.rig, pose);
    }

    /// Gives `renderer` the avatar's meshes (once per renderer), then the current pose.
    pub fn attach(&self, renderer: &mut Renderer) -> Result<(), RenderError> {
        let meshes: Vec<MeshData> = self
            .rig
            .primitives
            .iter()
            .zip(&self.deformer.meshes)
            .map(|(p, d)| MeshData {
                positions: &d.positions,
                normals: &d.normals,
                indices: &p.indices,
                material: self.material(p.material),
            })
            .collect();
        renderer.set_meshes(&meshes)?;
        self.upload(renderer)
    }

    /// Sends this frame's pose to `renderer`: model matrices, and vertices where they changed.
    pub fn upload(&self, renderer: &mut Renderer) -> Result<(), RenderError> {
        for (i, d) in self.deformer.meshes.iter().enumerate() {
            renderer.update_mesh(i, d.version, &d.positions, &d.normals, d.model)?;
        }
        Ok(())
    }

    /// The posed avatar's bounds in model space.
    pub fn bounds(&self) -> (Vec3, Vec3) {
        self.deformer.bounds()
    }
}
