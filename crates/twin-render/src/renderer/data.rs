//! The plain data callers hand the renderer: meshes with their materials, skins and textures, panels, the
//! views to draw and the lights. Nothing here touches the GPU.

use glam::{Mat4, Vec3};

/// How a surface looks: the factors the shaders light it with.
#[derive(Debug, Clone, Copy)]
pub struct Material {
    /// Linear RGBA.
    pub base_color: [f32; 4],
    pub roughness: f32,
    pub metallic: f32,
    /// 1 for skin: light wraps past the terminator and scatters red.
    pub subsurface: f32,
    /// A clear wet coat over it (the cornea over the eye), 0 for none, and how rough that coat is.
    pub clearcoat: f32,
    pub clearcoat_roughness: f32,
    /// Where the base colour's alpha is below this the surface is not there (glTF's alpha mask: hair's
    /// frayed edge); 0 for an opaque surface.
    pub alpha_cutoff: f32,
}

impl Material {
    /// A plain material: no subsurface, no coat.
    pub fn plain(base_color: [f32; 4], roughness: f32, metallic: f32) -> Material {
        Material {
            base_color,
            roughness,
            metallic,
            subsurface: 0.0,
            clearcoat: 0.0,
            clearcoat_roughness: 0.0,
            alpha_cutoff: 0.0,
        }
    }
}

/// One mesh to draw: its triangles and material; vertices are updated every frame.
pub struct MeshData<'a> {
    pub positions: &'a [Vec3],
    pub normals: &'a [Vec3],
    pub indices: &'a [u32],
    pub material: Material,
    /// Texture coordinates (empty: no texture).
    pub uvs: &'a [[f32; 2]],
    /// The base colour texture, an index into the colour textures given with the meshes.
    pub texture: Option<usize>,
    /// The metallic-roughness texture (green roughness, blue metal), an index into the data textures.
    pub metallic_roughness: Option<usize>,
    /// Skinned on the GPU: the vertices are in bind pose and move with the joint matrices.
    pub skin: Option<SkinData<'a>>,
}

/// An RGBA8 image: sRGB-encoded for colour, linear for data (roughness).
pub struct TextureData<'a> {
    pub width: u32,
    pub height: u32,
    pub rgba: &'a [u8],
}

/// Joints and weights of each vertex, and where the mesh's skin starts among the joint matrices.
pub struct SkinData<'a> {
    pub joints: &'a [[u16; 4]],
    pub weights: &'a [[f32; 4]],
    pub joint_base: u32,
}

/// One view of the scene: where the eye is and its view-projection (Vulkan clip space).
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub eye: Vec3,
    pub view_proj: Mat4,
}

impl View {
    /// A perspective view looking from `eye` at `target` (+Y up), `fov_y` in radians.
    pub fn look_at(eye: Vec3, target: Vec3, fov_y: f32, aspect: f32) -> View {
        let view = Mat4::look_at_rh(eye, target, Vec3::Y);
        // Vulkan's clip space has +Y down: flip so +Y is up on screen.
        let mut proj = Mat4::perspective_rh(fov_y, aspect, 0.05, 100.0);
        proj.y_axis.y = -proj.y_axis.y;
        View {
            eye,
            view_proj: proj * view,
        }
    }
}

/// Lights of a neutral three-point studio: key, fill and rim (direction the light travels, linear colour).
#[derive(Debug, Clone, Copy)]
pub struct Lighting {
    pub lights: [(Vec3, Vec3); 3],
    pub ambient: Vec3,
}

impl Default for Lighting {
    fn default() -> Self {
        Lighting {
            lights: [
                // Key: above, front left of the subject.
                (Vec3::new(0.5, -0.45, -0.75), Vec3::splat(1.7)),
                // Fill: front right, softer.
                (Vec3::new(-0.7, -0.15, -0.7), Vec3::new(0.45, 0.48, 0.55)),
                // Rim: from behind, to separate the head from the background.
                (Vec3::new(-0.2, -0.3, 0.95), Vec3::splat(1.2)),
            ],
            ambient: Vec3::new(0.05, 0.05, 0.055),
        }
    }
}

/// A flat picture in the world (captions, the state cue): a quad drawn unlit, after the avatar.
pub struct PanelData<'a> {
    pub image: TextureData<'a>,
    /// Maps the unit quad (x and y in -0.5..0.5, facing +Z) into the world: position, turn and size.
    pub world: Mat4,
}
