//! A glTF avatar as the renderer's meshes: materials from the file, the pose from [`twin_animate`]'s deformer
//! (vertices that moved, and a model matrix for primitives that move whole).

use crate::RenderError;
use crate::renderer::{Material, MeshData, Renderer, SkinData};
use glam::{Mat4, Vec3};
use twin_animate::rig::Binding;
use twin_animate::{Deformer, Pose, Rig, Skinning};
use twin_avatar::skin::Loaded;

pub struct AvatarScene {
    pub loaded: Loaded,
    pub rig: Rig,
    pub deformer: Deformer,
    joint_matrices: Vec<Mat4>,
}

/// Skin-like materials get the subsurface approximation.
fn is_skin(name: &str) -> bool {
    let n = name.to_lowercase();
    ["skin", "face", "head", "body", "hand", "lip"]
        .iter()
        .any(|k| n.contains(k))
}

impl AvatarScene {
    /// Decodes the avatar once, skinned on the CPU; it starts at rest.
    pub fn new(loaded: Loaded) -> Result<AvatarScene, RenderError> {
        AvatarScene::with_skinning(loaded, Skinning::Cpu)
    }

    /// As [`AvatarScene::new`], with blended skinning where `skinning` says.
    pub fn with_skinning(loaded: Loaded, skinning: Skinning) -> Result<AvatarScene, RenderError> {
        let rig = Rig::new(&loaded)?;
        let mut deformer = Deformer::with_skinning(&rig, skinning);
        deformer.apply(&rig, &Pose::rest(&rig));
        Ok(AvatarScene {
            loaded,
            rig,
            deformer,
            joint_matrices: Vec::new(),
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
    pub fn attach(&mut self, renderer: &mut Renderer) -> Result<(), RenderError> {
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
                skin: match &p.binding {
                    Binding::Blended {
                        skin,
                        joints,
                        weights,
                    } if self.deformer.skinning == Skinning::Gpu => Some(SkinData {
                        joints,
                        weights,
                        joint_base: self.deformer.joint_base(*skin),
                    }),
                    _ => None,
                },
            })
            .collect();
        renderer.set_meshes(&meshes)?;
        self.upload(renderer)
    }

    /// Sends this frame's pose to `renderer`: model matrices, vertices where they changed, and the joint
    /// matrices when skinning runs on the GPU.
    pub fn upload(&mut self, renderer: &mut Renderer) -> Result<(), RenderError> {
        for (i, d) in self.deformer.meshes.iter().enumerate() {
            renderer.update_mesh(i, d.version, &d.positions, &d.normals, d.model)?;
        }
        if self.deformer.skinning == Skinning::Gpu {
            self.deformer.all_joint_matrices(&mut self.joint_matrices);
            renderer.set_joint_matrices(&self.joint_matrices)?;
        }
        Ok(())
    }

    /// The posed avatar's bounds in model space.
    pub fn bounds(&self) -> (Vec3, Vec3) {
        self.deformer.bounds()
    }
}
