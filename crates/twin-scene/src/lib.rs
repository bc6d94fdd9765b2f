//! A glTF avatar as the renderer's meshes: materials from the file, the pose from [`twin_animate`]'s deformer
//! (vertices that moved, and a model matrix for primitives that move whole).

use glam::{Mat4, Vec3};
use twin_animate::rig::Binding;
use twin_animate::{Deformer, Pose, Rig, Skinning};
use twin_avatar::skin::Loaded;
use twin_render::RenderError;
use twin_render::renderer::{Material, MeshData, Renderer, SkinData, TextureData};

pub struct AvatarScene {
    pub loaded: Loaded,
    pub rig: Rig,
    pub deformer: Deformer,
    joint_matrices: Vec<Mat4>,
    /// Decoded images: base colour ones, then metallic-roughness ones.
    colour: Images,
    data: Images,
    /// For each primitive, its base colour and metallic-roughness images.
    textures_of: Vec<(Option<usize>, Option<usize>)>,
}

/// Images decoded once each, however many materials use them.
#[derive(Default)]
struct Images {
    decoded: Vec<twin_avatar::texture::Rgba>,
    index_of: std::collections::HashMap<usize, usize>,
}

impl Images {
    /// The decoded copy of the file's image `image`.
    fn get(&mut self, loaded: &Loaded, image: usize) -> Result<usize, RenderError> {
        if let Some(&k) = self.index_of.get(&image) {
            return Ok(k);
        }
        self.decoded
            .push(twin_avatar::texture::decode(loaded, image)?);
        self.index_of.insert(image, self.decoded.len() - 1);
        Ok(self.decoded.len() - 1)
    }

    fn as_textures(&self) -> Vec<TextureData<'_>> {
        self.decoded
            .iter()
            .map(|i| TextureData {
                width: i.width,
                height: i.height,
                rgba: &i.pixels,
            })
            .collect()
    }
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
        let (mut colour, mut data) = (Images::default(), Images::default());
        let mut textures_of = Vec::new();
        for p in &rig.primitives {
            let pbr = p
                .material
                .and_then(|m| loaded.doc.materials().nth(m))
                .map(|m| m.pbr_metallic_roughness())
                .filter(|_| !p.uvs.is_empty());
            let base = pbr.as_ref().and_then(|m| m.base_color_texture());
            let rough = pbr.as_ref().and_then(|m| m.metallic_roughness_texture());
            let base = base.map(|t| colour.get(&loaded, t.texture().source().index()));
            let rough = rough.map(|t| data.get(&loaded, t.texture().source().index()));
            textures_of.push((base.transpose()?, rough.transpose()?));
        }
        Ok(AvatarScene {
            loaded,
            rig,
            deformer,
            joint_matrices: Vec::new(),
            colour,
            data,
            textures_of,
        })
    }

    /// The same avatar drawn without its textures (plain base colours): to measure what they cost.
    pub fn without_textures(mut self) -> AvatarScene {
        self.textures_of.iter_mut().for_each(|t| *t = (None, None));
        self
    }

    fn material(&self, index: Option<usize>) -> Material {
        let m = index.and_then(|i| self.loaded.doc.materials().nth(i));
        match m {
            Some(m) => {
                let pbr = m.pbr_metallic_roughness();
                let coat = |field: &str| {
                    m.extension_value("KHR_materials_clearcoat")
                        .and_then(|c| c.get(field)?.as_f64())
                        .unwrap_or(0.0) as f32
                };
                Material {
                    subsurface: if is_skin(m.name().unwrap_or("")) {
                        1.0
                    } else {
                        0.0
                    },
                    clearcoat: coat("clearcoatFactor"),
                    clearcoat_roughness: coat("clearcoatRoughnessFactor"),
                    alpha_cutoff: match m.alpha_mode() {
                        gltf::material::AlphaMode::Mask => m.alpha_cutoff().unwrap_or(0.5),
                        _ => 0.0,
                    },
                    ..Material::plain(
                        pbr.base_color_factor(),
                        pbr.roughness_factor(),
                        pbr.metallic_factor(),
                    )
                }
            }
            None => Material::plain([0.8, 0.8, 0.8, 1.0], 0.6, 0.0),
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
            .zip(&self.textures_of)
            .map(|((p, d), &(texture, metallic_roughness))| MeshData {
                positions: &d.positions,
                normals: &d.normals,
                indices: &p.indices,
                material: self.material(p.material),
                uvs: &p.uvs,
                texture,
                metallic_roughness,
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
        renderer.set_meshes(
            &meshes,
            &self.colour.as_textures(),
            &self.data.as_textures(),
        )?;
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
