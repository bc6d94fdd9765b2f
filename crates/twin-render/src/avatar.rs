//! A glTF avatar as the renderer's meshes: materials from the file, the pose from [`twin_animate`]'s deformer
//! (vertices that moved, and a model matrix for primitives that move whole).

use crate::RenderError;
use crate::renderer::{Material, MeshData, Renderer, SkinData, TextureData};
use glam::{Mat4, Vec3};
use twin_animate::rig::Binding;
use twin_animate::{Deformer, Pose, Rig, Skinning};
use twin_avatar::skin::Loaded;

pub struct AvatarScene {
    pub loaded: Loaded,
    pub rig: Rig,
    pub deformer: Deformer,
    joint_matrices: Vec<Mat4>,
    /// Decoded base colour images, and for each primitive the one it uses.
    images: Vec<twin_avatar::texture::Rgba>,
    texture_of: Vec<Option<usize>>,
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
        // Each image once, however many materials use it.
        let mut images = Vec::new();
        let mut decoded: std::collections::HashMap<usize, usize> = Default::default();
        let mut texture_of = Vec::new();
        for p in &rig.primitives {
            let source = p
                .material
                .and_then(|m| loaded.doc.materials().nth(m))
                .and_then(|m| m.pbr_metallic_roughness().base_color_texture())
                .map(|t| t.texture().source().index())
                .filter(|_| !p.uvs.is_empty());
            let slot = match source {
                Some(image) => Some(match decoded.get(&image) {
                    Some(k) => *k,
                    None => {
                        images.push(twin_avatar::texture::decode(&loaded, image)?);
                        decoded.insert(image, images.len() - 1);
                        images.len() - 1
                    }
                }),
                None => None,
            };
            texture_of.push(slot);
        }
        Ok(AvatarScene {
            loaded,
            rig,
            deformer,
            joint_matrices: Vec::new(),
            images,
            texture_of,
        })
    }

    /// The same avatar drawn without its textures (plain base colours): to measure what they cost.
    pub fn without_textures(mut self) -> AvatarScene {
        self.texture_of.iter_mut().for_each(|t| *t = None);
        self
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
            .zip(&self.texture_of)
            .map(|((p, d), texture)| MeshData {
                positions: &d.positions,
                normals: &d.normals,
                indices: &p.indices,
                material: self.material(p.material),
                uvs: &p.uvs,
                texture: *texture,
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
        let textures: Vec<TextureData> = self
            .images
            .iter()
            .map(|i| TextureData {
                width: i.width,
                height: i.height,
                rgba: &i.pixels,
            })
            .collect();
        renderer.set_meshes(&meshes, &textures)?;
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

    /// Where to aim a camera at the face: centred, 13 cm below the top of the head (model space).
    pub fn face_centre(&self) -> Vec3 {
        let (lo, hi) = self.bounds();
        Vec3::new((lo.x + hi.x) * 0.5, hi.y - 0.13, 0.0)
    }

    /// The posed avatar's bounds in model space.
    pub fn bounds(&self) -> (Vec3, Vec3) {
        self.deformer.bounds()
    }
}
