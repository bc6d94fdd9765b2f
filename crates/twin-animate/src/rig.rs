//! An avatar decoded once into flat arrays: the node tree, every triangle primitive with its sparse morph
//! targets and skin binding, and the joints animation drives. Nothing here touches glTF again per frame.

use glam::{Mat4, Quat, Vec3};
use std::collections::HashMap;
use twin_avatar::AvatarError;
use twin_avatar::joints::JointNodes;
use twin_avatar::skin::{self, Loaded};

/// A node at rest: its parent and local transform.
#[derive(Debug, Clone)]
pub struct RigNode {
    pub name: String,
    pub parent: Option<usize>,
    pub translation: Vec3,
    pub rotation: Quat,
    pub scale: Vec3,
}

/// A morph target of one primitive: only the vertices it moves.
#[derive(Debug, Clone)]
pub struct SparseTarget {
    /// Index into [`Rig::target_names`].
    pub slot: usize,
    pub vertices: Vec<u32>,
    pub deltas: Vec<Vec3>,
}

/// How a primitive's vertices follow the skeleton.
#[derive(Debug, Clone)]
pub enum Binding {
    /// Not skinned: the node's global transform moves it whole (eyeballs).
    Node(usize),
    /// Skinned, but every vertex wholly to one joint (index into the skin's joints): moved whole too.
    OneJoint { skin: usize, joint: usize },
    /// Skinned with blending: up to four joints per vertex, weights summing to one.
    Blended {
        skin: usize,
        joints: Vec<[u16; 4]>,
        weights: Vec<[f32; 4]>,
    },
}

#[derive(Debug, Clone)]
pub struct RigPrimitive {
    pub mesh: usize,
    pub node: usize,
    pub material: Option<usize>,
    pub positions: Vec<Vec3>,
    pub normals: Vec<Vec3>,
    /// Texture coordinates of the material's base colour texture (empty when it has none).
    pub uvs: Vec<[f32; 2]>,
    pub indices: Vec<u32>,
    pub targets: Vec<SparseTarget>,
    pub binding: Binding,
}

#[derive(Debug, Clone)]
pub struct RigSkin {
    pub joints: Vec<usize>,
    pub inverse_bind: Vec<Mat4>,
}

/// A change to a node's rest transform. The rotation turns about the model's own axes (+Y up, +X the avatar's
/// left, +Z forward) at the node, whatever the rig's rest orientations, so animation reads the same on any
/// avatar; a rotation of a child is relative to its parent's turn (an eye turns within the turned head).
#[derive(Debug, Clone, Copy)]
pub struct NodeOffset {
    pub node: usize,
    pub rotation: Quat,
    pub translation: Vec3,
}

/// A node's local transform replaced (by a clip from the file); parts left `None` keep their rest value.
#[derive(Debug, Clone, Copy)]
pub struct LocalOverride {
    pub node: usize,
    pub translation: Option<Vec3>,
    pub rotation: Option<Quat>,
    pub scale: Option<Vec3>,
}

/// What one frame asks of the avatar: a weight per morph target name, local transforms from a clip, and
/// offsets on top.
#[derive(Debug, Clone, Default)]
pub struct Pose {
    pub weights: Vec<f32>,
    pub locals: Vec<LocalOverride>,
    pub offsets: Vec<NodeOffset>,
}

impl Pose {
    pub fn rest(rig: &Rig) -> Pose {
        Pose {
            weights: vec![0.0; rig.target_names.len()],
            locals: Vec::new(),
            offsets: Vec::new(),
        }
    }

    /// Sets the weight of the target `name` if the avatar has it.
    pub fn set(&mut self, rig: &Rig, name: &str, weight: f32) {
        if let Some(slot) = rig.slot(name) {
            self.weights[slot] = weight;
        }
    }
}

pub struct Rig {
    pub nodes: Vec<RigNode>,
    /// Nodes of the default scene, parents before children.
    order: Vec<usize>,
    /// Global rotation of each node's parent at rest (identity for roots).
    rest_parent_rotation: Vec<Quat>,
    pub primitives: Vec<RigPrimitive>,
    pub skins: Vec<RigSkin>,
    /// Every morph target name of the avatar once; poses index weights by it.
    pub target_names: Vec<String>,
    slots: HashMap<String, usize>,
    /// For each node with a mesh, the slot of each of its mesh's morph targets in order.
    node_targets: HashMap<usize, Vec<Option<usize>>>,
    pub joints: JointNodes,
}

impl Rig {
    /// Decodes `loaded` (already checked by [`twin_avatar::skin::load`]).
    pub fn new(loaded: &Loaded) -> Result<Rig, AvatarError> {
        let doc = &loaded.doc;
        let nodes = read_nodes(doc)?;
        let order = scene_order(doc, nodes.len());
        let rest_parent_rotation = rest_parent_rotations(&nodes, &order);
        let skins = read_skins(loaded);
        let mut targets = TargetSlots::default();
        let mut primitives = Vec::new();
        for &node_index in &order {
            let Some(node) = doc.nodes().nth(node_index) else {
                continue;
            };
            let Some(mesh) = node.mesh() else { continue };
            let names = skin::target_names(&mesh);
            let target_count = mesh
                .primitives()
                .map(|p| p.morph_targets().count())
                .max()
                .unwrap_or(0);
            let on = MeshOn {
                node: &node,
                node_index,
                mesh: &mesh,
                names: &names,
                target_count,
            };
            for prim in mesh.primitives() {
                if let Some(p) = read_primitive(loaded, &on, &prim, &skins, &mut targets)? {
                    primitives.push(p);
                }
            }
        }
        Ok(Rig {
            nodes,
            order,
            rest_parent_rotation,
            primitives,
            skins,
            target_names: targets.names,
            slots: targets.slots,
            node_targets: targets.node_targets,
            joints: twin_avatar::joints::find(doc),
        })
    }

    /// The slot of each morph target of the mesh on `node`, in the mesh's order (for a clip's weights).
    pub fn node_target_slots(&self, node: usize) -> &[Option<usize>] {
        self.node_targets.get(&node).map_or(&[], Vec::as_slice)
    }

    /// The slot of a morph target name.
    pub fn slot(&self, name: &str) -> Option<usize> {
        self.slots.get(name).copied()
    }

    /// Global transforms of every node with `offsets` applied (nodes outside the scene stay identity).
    pub fn globals(&self, offsets: &[NodeOffset], out: &mut Vec<Mat4>) {
        self.globals_with(&[], offsets, out);
    }

    /// Global transforms with local overrides (a clip) and then offsets applied.
    pub fn globals_with(
        &self,
        locals: &[LocalOverride],
        offsets: &[NodeOffset],
        out: &mut Vec<Mat4>,
    ) {
        out.clear();
        out.resize(self.nodes.len(), Mat4::IDENTITY);
        for &i in &self.order {
            let n = &self.nodes[i];
            let (mut translation, mut rotation, mut scale) = (n.translation, n.rotation, n.scale);
            for l in offsets_locals(locals, i) {
                translation = l.translation.unwrap_or(translation);
                rotation = l.rotation.unwrap_or(rotation);
                scale = l.scale.unwrap_or(scale);
            }
            for o in offsets.iter().filter(|o| o.node == i) {
                // A turn about model axes, moved into this node's parent frame.
                let p = self.rest_parent_rotation[i];
                rotation = (p.inverse() * o.rotation * p) * rotation;
                translation += p.inverse() * o.translation;
            }
            let local = Mat4::from_scale_rotation_translation(scale, rotation, translation);
            out[i] = match n.parent {
                Some(p) => out[p] * local,
                None => local,
            };
        }
    }

    /// The global rotation of node `n` at rest.
    pub fn rest_rotation(&self, n: usize) -> Quat {
        self.rest_parent_rotation[n] * self.nodes[n].rotation
    }

    /// Vertex count over every primitive.
    pub fn vertex_count(&self) -> usize {
        self.primitives.iter().map(|p| p.positions.len()).sum()
    }
}

fn offsets_locals(locals: &[LocalOverride], node: usize) -> impl Iterator<Item = &LocalOverride> {
    locals.iter().filter(move |l| l.node == node)
}

/// The morph target names met so far, each with its slot, and each mesh node's slots in its mesh's order.
#[derive(Default)]
struct TargetSlots {
    names: Vec<String>,
    slots: HashMap<String, usize>,
    node_targets: HashMap<usize, Vec<Option<usize>>>,
}

impl TargetSlots {
    /// The slot of target `t` (named `name`) of the mesh on `node`, given one if the name is new.
    fn slot(&mut self, name: String, node: usize, t: usize, target_count: usize) -> usize {
        let slot = *self.slots.entry(name.clone()).or_insert_with(|| {
            self.names.push(name);
            self.names.len() - 1
        });
        if let Some(e) = self
            .node_targets
            .entry(node)
            .or_insert_with(|| vec![None; target_count])
            .get_mut(t)
        {
            *e = Some(slot);
        }
        slot
    }
}

/// A mesh and the node it hangs on, with its morph target names and count.
struct MeshOn<'a, 'd> {
    node: &'a gltf::Node<'d>,
    node_index: usize,
    mesh: &'a gltf::Mesh<'d>,
    names: &'a [String],
    target_count: usize,
}

/// Every node's name and rest transform, with its parent (a node with two is refused).
fn read_nodes(doc: &gltf::Document) -> Result<Vec<RigNode>, AvatarError> {
    let mut nodes: Vec<RigNode> = doc
        .nodes()
        .map(|n| {
            let (t, r, s) = n.transform().decomposed();
            RigNode {
                name: n.name().unwrap_or("").to_string(),
                parent: None,
                translation: Vec3::from(t),
                rotation: Quat::from_array(r).normalize(),
                scale: Vec3::from(s),
            }
        })
        .collect();
    for n in doc.nodes() {
        for c in n.children() {
            if nodes[c.index()].parent.is_some() {
                return Err(AvatarError::Broken(format!(
                    "node {} has two parents",
                    c.index()
                )));
            }
            nodes[c.index()].parent = Some(n.index());
        }
    }
    Ok(nodes)
}

/// The default scene's nodes, breadth-first from its roots: parents come before children; a cycle cannot
/// loop forever.
fn scene_order(doc: &gltf::Document, node_count: usize) -> Vec<usize> {
    let mut order = Vec::new();
    let mut seen = vec![false; node_count];
    if let Some(scene) = doc.default_scene().or_else(|| doc.scenes().next()) {
        let mut queue: std::collections::VecDeque<gltf::Node> = scene.nodes().collect();
        while let Some(n) = queue.pop_front() {
            if std::mem::replace(&mut seen[n.index()], true) {
                continue;
            }
            order.push(n.index());
            queue.extend(n.children());
        }
    }
    order
}

/// The global rotation of each node's parent at rest (identity for roots and nodes outside the scene).
fn rest_parent_rotations(nodes: &[RigNode], order: &[usize]) -> Vec<Quat> {
    let mut rest_global = vec![Quat::IDENTITY; nodes.len()];
    let mut rest_parent_rotation = vec![Quat::IDENTITY; nodes.len()];
    for &i in order {
        let parent = nodes[i].parent.map_or(Quat::IDENTITY, |p| rest_global[p]);
        rest_parent_rotation[i] = parent;
        rest_global[i] = parent * nodes[i].rotation;
    }
    rest_parent_rotation
}

/// Every skin's joints and inverse bind matrices (identity where the file gives fewer).
fn read_skins(loaded: &Loaded) -> Vec<RigSkin> {
    loaded
        .doc
        .skins()
        .map(|skin| {
            let reader = skin.reader(|b| loaded.buffers.get(b.index()).map(Vec::as_slice));
            let inverse_bind: Vec<Mat4> = reader
                .read_inverse_bind_matrices()
                .map(|it| it.map(|m| Mat4::from_cols_array_2d(&m)).collect())
                .unwrap_or_default();
            let joints: Vec<usize> = skin.joints().map(|j| j.index()).collect();
            let inverse_bind = (0..joints.len())
                .map(|k| inverse_bind.get(k).copied().unwrap_or(Mat4::IDENTITY))
                .collect();
            RigSkin {
                joints,
                inverse_bind,
            }
        })
        .collect()
}

/// One triangle primitive of the mesh `on`; `None` for other modes and primitives without positions.
fn read_primitive(
    loaded: &Loaded,
    on: &MeshOn,
    prim: &gltf::Primitive,
    skins: &[RigSkin],
    targets: &mut TargetSlots,
) -> Result<Option<RigPrimitive>, AvatarError> {
    if prim.mode() != gltf::mesh::Mode::Triangles {
        return Ok(None);
    }
    let reader = prim.reader(|b| loaded.buffers.get(b.index()).map(Vec::as_slice));
    let Some(positions) = reader.read_positions() else {
        return Ok(None);
    };
    let positions: Vec<Vec3> = positions.map(Vec3::from).collect();
    let normals: Vec<Vec3> = reader
        .read_normals()
        .map(|n| n.map(Vec3::from).collect())
        .filter(|n: &Vec<Vec3>| n.len() == positions.len())
        .unwrap_or_else(|| vec![Vec3::Z; positions.len()]);
    let indices: Vec<u32> = match reader.read_indices() {
        Some(i) => i.into_u32().collect(),
        None => (0..positions.len() as u32).collect(),
    };
    let uvs = read_uvs(prim, &reader, positions.len());
    let sparse = read_targets(on, &reader, positions.len(), targets);
    let binding = read_binding(on, &reader, skins, positions.len())?;
    Ok(Some(RigPrimitive {
        mesh: on.mesh.index(),
        node: on.node_index,
        material: prim.material().index(),
        positions,
        normals,
        uvs,
        indices,
        targets: sparse,
        binding,
    }))
}

/// Texture coordinates for the material's textures (empty when there are none, or too few).
fn read_uvs<'a, 's, F>(
    prim: &gltf::Primitive,
    reader: &gltf::mesh::Reader<'a, 's, F>,
    vertices: usize,
) -> Vec<[f32; 2]>
where
    F: Clone + Fn(gltf::Buffer<'a>) -> Option<&'s [u8]>,
{
    // One set of texture coordinates serves the material's textures: the base colour's, or
    // else the metallic-roughness map's.
    let pbr = prim.material().pbr_metallic_roughness();
    let tex_coord = pbr
        .base_color_texture()
        .map(|t| t.tex_coord())
        .or_else(|| pbr.metallic_roughness_texture().map(|t| t.tex_coord()));
    tex_coord
        .and_then(|set| reader.read_tex_coords(set))
        .map(|uv| uv.into_f32().collect())
        .filter(|uv: &Vec<[f32; 2]>| uv.len() == vertices)
        .unwrap_or_default()
}

/// The primitive's morph targets, each reduced to the vertices it moves; every target gets its slot, even
/// one that moves nothing here.
fn read_targets<'a, 's, F>(
    on: &MeshOn,
    reader: &gltf::mesh::Reader<'a, 's, F>,
    vertices: usize,
    slots: &mut TargetSlots,
) -> Vec<SparseTarget>
where
    F: Clone + Fn(gltf::Buffer<'a>) -> Option<&'s [u8]>,
{
    let mut targets = Vec::new();
    for (t, target) in reader.read_morph_targets().enumerate() {
        let Some(deltas) = target.0 else { continue };
        let name = on
            .names
            .get(t)
            .cloned()
            .unwrap_or_else(|| format!("{}#{t}", on.mesh.name().unwrap_or("mesh")));
        let slot = slots.slot(name, on.node_index, t, on.target_count);
        let (mut moved_vertices, mut moved) = (Vec::new(), Vec::new());
        for (v, d) in deltas.enumerate() {
            let d = Vec3::from(d);
            if d != Vec3::ZERO && v < vertices {
                moved_vertices.push(v as u32);
                moved.push(d);
            }
        }
        if !moved_vertices.is_empty() {
            targets.push(SparseTarget {
                slot,
                vertices: moved_vertices,
                deltas: moved,
            });
        }
    }
    targets
}

/// How the primitive follows the skeleton: its node's transform, or the node's skin.
fn read_binding<'a, 's, F>(
    on: &MeshOn,
    reader: &gltf::mesh::Reader<'a, 's, F>,
    skins: &[RigSkin],
    vertices: usize,
) -> Result<Binding, AvatarError>
where
    F: Clone + Fn(gltf::Buffer<'a>) -> Option<&'s [u8]>,
{
    let Some(skin) = on.node.skin() else {
        return Ok(Binding::Node(on.node_index));
    };
    let joint_count = skins[skin.index()].joints.len();
    let joints: Vec<[u16; 4]> = reader
        .read_joints(0)
        .map(|j| j.into_u16().collect())
        .unwrap_or_default();
    let weights: Vec<[f32; 4]> = reader
        .read_weights(0)
        .map(|w| w.into_f32().collect())
        .unwrap_or_default();
    binding_of(skin.index(), joint_count, joints, weights, vertices)
}

/// Classifies a skinned primitive's binding, normalizing weights and checking joint indices.
fn binding_of(
    skin: usize,
    joint_count: usize,
    joints: Vec<[u16; 4]>,
    mut weights: Vec<[f32; 4]>,
    vertices: usize,
) -> Result<Binding, AvatarError> {
    if joints.len() != vertices || weights.len() != vertices {
        return Err(AvatarError::Broken(format!(
            "a skinned primitive has {vertices} vertices but {} JOINTS_0 and {} WEIGHTS_0",
            joints.len(),
            weights.len()
        )));
    }
    for (j, w) in joints.iter().zip(weights.iter_mut()) {
        let sum: f32 = w.iter().sum();
        if !(sum.is_finite() && sum > 1e-6) {
            return Err(AvatarError::Broken(
                "a skinned vertex has no weight (WEIGHTS_0 sums to zero)".into(),
            ));
        }
        for k in 0..4 {
            w[k] /= sum;
            if w[k] > 0.0 && j[k] as usize >= joint_count {
                return Err(AvatarError::Broken(format!(
                    "a vertex is bound to joint {} of a skin with {joint_count}",
                    j[k]
                )));
            }
        }
    }
    // One joint for every vertex: the whole primitive moves as one.
    let dominant =
        |j: &[u16; 4], w: &[f32; 4]| (0..4).find(|&k| w[k] >= 0.9999).map(|k| j[k] as usize);
    if let Some(first) = joints
        .first()
        .zip(weights.first())
        .and_then(|(j, w)| dominant(j, w))
        && joints
            .iter()
            .zip(&weights)
            .all(|(j, w)| dominant(j, w) == Some(first))
    {
        return Ok(Binding::OneJoint { skin, joint: first });
    }
    Ok(Binding::Blended {
        skin,
        joints,
        weights,
    })
}
