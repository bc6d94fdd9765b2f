//! Loading a glTF avatar safely, and posing its meshes on the CPU: morph targets, then skinning. This is the
//! reference the GPU path is compared with, and what `twin avatar check` measures the avatar with.

use crate::AvatarError;
use glam::{Mat4, Vec3};
use std::collections::HashMap;
use std::path::Path;

/// Extensions whose data Twin cannot read, with what they are.
const UNREADABLE: [(&str, &str); 5] = [
    ("KHR_draco_mesh_compression", "Draco-compressed meshes"),
    (
        "EXT_meshopt_compression",
        "meshoptimizer-compressed buffers",
    ),
    ("KHR_texture_basisu", "KTX2/Basis Universal textures"),
    ("EXT_texture_webp", "WebP textures"),
    ("KHR_mesh_quantization", "quantized vertex attributes"),
];

/// An avatar file with its buffers, every accessor checked to lie inside its data.
pub struct Loaded {
    pub doc: gltf::Document,
    pub buffers: Vec<Vec<u8>>,
    /// Extensions the file uses (for the report).
    pub extensions_used: Vec<String>,
    /// The folder external files (buffers, images) are read from.
    pub base: Option<std::path::PathBuf>,
}

/// The JSON chunk of a .glb, or the whole text of a .gltf.
fn json_part(bytes: &[u8]) -> Result<&[u8], AvatarError> {
    if bytes.starts_with(b"glTF") {
        if bytes.len() < 20 {
            return Err(AvatarError::NotGltf("the .glb header is cut short".into()));
        }
        let u32_at =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let (declared, json_len) = (u32_at(8) as usize, u32_at(12) as usize);
        if declared > bytes.len() {
            return Err(AvatarError::NotGltf(format!(
                "the .glb says it is {declared} bytes but the file has {} (truncated?)",
                bytes.len()
            )));
        }
        let end = 20usize
            .checked_add(json_len)
            .filter(|e| *e <= bytes.len())
            .ok_or_else(|| {
                AvatarError::NotGltf("the JSON chunk runs past the end of the file".into())
            })?;
        Ok(&bytes[20..end])
    } else {
        Ok(bytes)
    }
}

/// Every primitive's POSITION names an accessor that exists. The gltf crate's own validation (1.4) indexes the
/// accessors with it unchecked and panics otherwise (found by `crates/twin-fuzz`).
fn positions_exist(json: &serde_json::Value) -> Result<(), AvatarError> {
    let accessors = json
        .get("accessors")
        .and_then(|a| a.as_array())
        .map_or(0, Vec::len);
    let meshes = json.get("meshes").and_then(|m| m.as_array());
    for (m, mesh) in meshes.into_iter().flatten().enumerate() {
        let primitives = mesh.get("primitives").and_then(|p| p.as_array());
        for (p, primitive) in primitives.into_iter().flatten().enumerate() {
            let position = primitive.get("attributes").and_then(|a| a.get("POSITION"));
            if let Some(index) = position {
                let fits = index.as_u64().is_some_and(|i| (i as usize) < accessors);
                if !fits {
                    return Err(AvatarError::Broken(format!(
                        "mesh {m} primitive {p}: POSITION names accessor {index}, which does not exist"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Reads an avatar from bytes; `base` is the folder for external buffers of a .gltf.
pub fn load(bytes: &[u8], base: Option<&Path>) -> Result<Loaded, AvatarError> {
    let json: serde_json::Value = serde_json::from_slice(json_part(bytes)?)
        .map_err(|e| AvatarError::NotGltf(format!("its JSON does not parse: {e}")))?;
    let list = |key: &str| -> Vec<String> {
        json.get(key)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    for required in list("extensionsRequired") {
        if let Some((ext, what)) = UNREADABLE.iter().find(|(e, _)| *e == required) {
            return Err(AvatarError::UnsupportedExtension {
                extension: ext.to_string(),
                what,
            });
        }
    }
    let extensions_used = list("extensionsUsed");
    positions_exist(&json)?;
    let gltf = gltf::Gltf::from_slice(bytes).map_err(|e| AvatarError::Broken(e.to_string()))?;
    let blob = gltf.blob.clone();
    let doc = gltf.document;
    let mut buffers = Vec::new();
    for buffer in doc.buffers() {
        let data = match buffer.source() {
            gltf::buffer::Source::Bin => blob.clone().ok_or_else(|| {
                AvatarError::Broken(format!(
                    "buffer {} is the .glb's binary chunk, which is missing",
                    buffer.index()
                ))
            })?,
            gltf::buffer::Source::Uri(uri) => read_uri(uri, base)?,
        };
        if data.len() < buffer.length() {
            return Err(AvatarError::Broken(format!(
                "buffer {} has {} bytes; the file says {}",
                buffer.index(),
                data.len(),
                buffer.length()
            )));
        }
        buffers.push(data);
    }
    check_accessors(&doc, &buffers)?;
    Ok(Loaded {
        doc,
        buffers,
        extensions_used,
        base: base.map(Path::to_path_buf),
    })
}

pub(crate) fn read_uri(uri: &str, base: Option<&Path>) -> Result<Vec<u8>, AvatarError> {
    if let Some(rest) = uri.strip_prefix("data:") {
        let (_, data) = rest
            .split_once(";base64,")
            .ok_or_else(|| AvatarError::Broken("a data: URI that is not base64".into()))?;
        use base64::Engine as _;
        return base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| AvatarError::Broken(format!("a data: URI does not decode: {e}")));
    }
    if uri.contains("://") {
        return Err(AvatarError::Broken(format!(
            "buffer {uri:?} is on the network; Twin reads avatars from files only"
        )));
    }
    let base = base.ok_or_else(|| {
        AvatarError::Broken(format!(
            "buffer {uri:?} is a separate file, but no folder was given"
        ))
    })?;
    let path = inside_folder(base, uri)?;
    let size = std::fs::metadata(&path)
        .map_err(|e| AvatarError::Broken(format!("missing buffer {}: {e}", path.display())))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(AvatarError::Broken(format!(
            "{} is {size} bytes; an avatar's file is at most {MAX_FILE_BYTES}",
            path.display()
        )));
    }
    let mut bytes = Vec::new();
    use std::io::Read as _;
    std::fs::File::open(&path)
        .and_then(|f| f.take(MAX_FILE_BYTES).read_to_end(&mut bytes))
        .map_err(|e| AvatarError::Broken(format!("cannot read {}: {e}", path.display())))?;
    Ok(bytes)
}

/// The largest buffer or image file an avatar may name.
const MAX_FILE_BYTES: u64 = 512 << 20;

/// The file a relative URI names, only if it is a regular file inside the asset's folder (after following
/// links): no absolute paths, no `..` out of it, no devices.
fn inside_folder(base: &Path, uri: &str) -> Result<std::path::PathBuf, AvatarError> {
    let outside = || {
        AvatarError::Broken(format!(
            "{uri:?} is not a file inside the avatar's folder {}",
            base.display()
        ))
    };
    let relative = Path::new(uri);
    if relative.is_absolute()
        || relative.components().any(|c| {
            !matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        })
    {
        return Err(outside());
    }
    let folder = base.canonicalize().map_err(|e| {
        AvatarError::Broken(format!(
            "missing buffer {uri:?}: its folder {}: {e}",
            base.display()
        ))
    })?;
    let path = folder
        .join(relative)
        .canonicalize()
        .map_err(|e| AvatarError::Broken(format!("missing buffer {uri:?}: {e}")))?;
    let regular = std::fs::metadata(&path).is_ok_and(|m| m.is_file());
    if !path.starts_with(&folder) || !regular {
        return Err(outside());
    }
    Ok(path)
}

/// Every accessor (and sparse part) lies inside its buffer view, and every view inside its buffer: reading can
/// then never go out of bounds.
fn check_accessors(doc: &gltf::Document, buffers: &[Vec<u8>]) -> Result<(), AvatarError> {
    for view in doc.views() {
        view_range(buffers, &view)?;
    }
    for a in doc.accessors() {
        check_accessor(buffers, &a)?;
        if let Some(sparse) = a.sparse() {
            check_sparse(buffers, &a, &sparse)?;
        }
    }
    check_vertex_indices(doc, buffers)
}

/// The bytes of its buffer that `view` covers, if it lies inside it.
fn view_range(
    buffers: &[Vec<u8>],
    view: &gltf::buffer::View,
) -> Result<std::ops::Range<usize>, AvatarError> {
    let data = &buffers[view.buffer().index()];
    let end = view
        .offset()
        .checked_add(view.length())
        .filter(|e| *e <= data.len())
        .ok_or_else(|| {
            AvatarError::Broken(format!(
                "buffer view {} ends past its buffer ({} bytes)",
                view.index(),
                data.len()
            ))
        })?;
    Ok(view.offset()..end)
}

/// An accessor has a believable number of elements, all inside its buffer view.
fn check_accessor(buffers: &[Vec<u8>], a: &gltf::Accessor) -> Result<(), AvatarError> {
    const MAX_COUNT: usize = 50_000_000;
    if a.count() == 0 {
        // glTF requires at least one element; readers underflow on none.
        return Err(AvatarError::Broken(format!(
            "accessor {} has no elements",
            a.index()
        )));
    }
    if a.count() > MAX_COUNT {
        return Err(AvatarError::Broken(format!(
            "accessor {} claims {} elements; more than any avatar has",
            a.index(),
            a.count()
        )));
    }
    let elem = a.size();
    if let Some(view) = a.view() {
        let range = view_range(buffers, &view)?;
        let stride = view.stride().unwrap_or(elem);
        // Every number here comes from the file: none may wrap.
        let need = stride
            .checked_mul(a.count() - 1)
            .and_then(|n| n.checked_add(a.offset()))
            .and_then(|n| n.checked_add(elem));
        if need.is_none_or(|n| n > range.len()) {
            return Err(AvatarError::Broken(format!(
                "accessor {} needs more bytes than buffer view {} has ({})",
                a.index(),
                view.index(),
                range.len()
            )));
        }
    }
    Ok(())
}

/// An accessor's sparse part replaces no more elements than it has, lies inside its buffer views, and
/// addresses only the accessor's elements.
fn check_sparse(
    buffers: &[Vec<u8>],
    a: &gltf::Accessor,
    sparse: &gltf::accessor::sparse::Sparse,
) -> Result<(), AvatarError> {
    let n = sparse.count();
    if n > a.count() {
        return Err(AvatarError::Broken(format!(
            "accessor {} replaces {n} of its {} elements",
            a.index(),
            a.count()
        )));
    }
    let index_size = match sparse.indices().index_type() {
        gltf::accessor::sparse::IndexType::U8 => 1,
        gltf::accessor::sparse::IndexType::U16 => 2,
        gltf::accessor::sparse::IndexType::U32 => 4,
    };
    let parts = [
        (
            sparse.indices().view(),
            sparse.indices().offset(),
            index_size,
        ),
        (sparse.values().view(), sparse.values().offset(), a.size()),
    ];
    for (view, offset, size) in parts {
        let range = view_range(buffers, &view)?;
        let end = size.checked_mul(n).and_then(|b| b.checked_add(offset));
        if end.is_none_or(|end| end > range.len()) {
            return Err(AvatarError::Broken(format!(
                "the sparse part of accessor {} reads past buffer view {}",
                a.index(),
                view.index()
            )));
        }
    }
    // Sparse indices must address elements of the accessor.
    let view = sparse.indices().view();
    let start = view_range(buffers, &view)?.start + sparse.indices().offset();
    let data = &buffers[view.buffer().index()];
    for k in 0..n {
        let at = start + k * index_size;
        let i = match index_size {
            1 => data[at] as usize,
            2 => u16::from_le_bytes([data[at], data[at + 1]]) as usize,
            _ => u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as usize,
        };
        if i >= a.count() {
            return Err(AvatarError::Broken(format!(
                "accessor {} has a sparse index {i} past its {} elements",
                a.index(),
                a.count()
            )));
        }
    }
    Ok(())
}

/// Vertex indices must address vertices.
fn check_vertex_indices(doc: &gltf::Document, buffers: &[Vec<u8>]) -> Result<(), AvatarError> {
    for mesh in doc.meshes() {
        for prim in mesh.primitives() {
            let vertices = prim
                .get(&gltf::Semantic::Positions)
                .map_or(0, |a| a.count());
            let reader = prim.reader(|b| buffers.get(b.index()).map(Vec::as_slice));
            if let Some(indices) = reader.read_indices()
                && let Some(bad) = indices.into_u32().find(|&i| i as usize >= vertices)
            {
                return Err(AvatarError::Broken(format!(
                    "mesh {:?} has a vertex index {bad} past its {vertices} vertices",
                    mesh.name().unwrap_or("")
                )));
            }
        }
    }
    Ok(())
}

/// A mesh primitive in world space.
pub struct Posed {
    pub mesh: usize,
    pub node: usize,
    pub material: Option<usize>,
    pub positions: Vec<Vec3>,
    /// The file's normals carried through skinning (morph targets' normal changes are not applied).
    pub normals: Vec<Vec3>,
    pub indices: Vec<u32>,
}

/// The names of a mesh's morph targets (`extras.targetNames`, the common convention).
pub fn target_names(mesh: &gltf::Mesh) -> Vec<String> {
    mesh.extras()
        .as_ref()
        .and_then(|raw| serde_json::from_str::<serde_json::Value>(raw.get()).ok())
        .and_then(|v| v.get("targetNames").cloned())
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// Global transforms of every node of the default scene (others stay `None`), with optional local overrides.
pub fn global_transforms(doc: &gltf::Document, local: &HashMap<usize, Mat4>) -> Vec<Option<Mat4>> {
    let mut out = vec![None; doc.nodes().len()];
    fn walk(
        node: gltf::Node,
        parent: Mat4,
        local: &HashMap<usize, Mat4>,
        out: &mut Vec<Option<Mat4>>,
        depth: usize,
    ) {
        if depth > 256 || out[node.index()].is_some() {
            return;
        }
        let m = local
            .get(&node.index())
            .copied()
            .unwrap_or_else(|| Mat4::from_cols_array_2d(&node.transform().matrix()));
        let g = parent * m;
        out[node.index()] = Some(g);
        for child in node.children() {
            walk(child, g, local, out, depth + 1);
        }
    }
    if let Some(scene) = doc.default_scene().or_else(|| doc.scenes().next()) {
        for node in scene.nodes() {
            walk(node, Mat4::IDENTITY, local, &mut out, 0);
        }
    }
    out
}

/// Every triangle primitive of the default scene, posed: `weights` by target name (missing names stay at the
/// mesh's default weight), `local` overriding node transforms (turned eyes, a nodding head).
pub fn pose(
    loaded: &Loaded,
    weights: &HashMap<String, f32>,
    local: &HashMap<usize, Mat4>,
) -> Vec<Posed> {
    let doc = &loaded.doc;
    let globals = global_transforms(doc, local);
    let mut out = Vec::new();
    for node in doc.nodes() {
        let (Some(mesh), Some(global)) = (node.mesh(), globals[node.index()]) else {
            continue;
        };
        let names = target_names(&mesh);
        let defaults: Vec<f32> = mesh.weights().map(<[f32]>::to_vec).unwrap_or_default();
        let morphs = Morphs {
            names: &names,
            defaults: &defaults,
            weights,
        };
        let joint_matrices = node
            .skin()
            .map(|skin| joint_matrices(loaded, &skin, &globals));
        for prim in mesh.primitives() {
            if prim.mode() != gltf::mesh::Mode::Triangles {
                continue;
            }
            let Some(positions) = morphed_positions(loaded, &prim, &morphs) else {
                continue;
            };
            let reader = prim.reader(|b| loaded.buffers.get(b.index()).map(Vec::as_slice));
            let normals: Vec<Vec3> = reader
                .read_normals()
                .map(|n| n.map(Vec3::from).collect())
                .unwrap_or_else(|| vec![Vec3::Z; positions.len()]);
            let (positions, normals) = match &joint_matrices {
                Some(joints) => skinned(loaded, &prim, joints, &positions, &normals),
                None => transformed(global, &positions, &normals),
            };
            let indices: Vec<u32> = match reader.read_indices() {
                Some(i) => i.into_u32().collect(),
                None => (0..positions.len() as u32).collect(),
            };
            out.push(Posed {
                mesh: mesh.index(),
                node: node.index(),
                material: prim.material().index(),
                positions,
                normals,
                indices,
            });
        }
    }
    out
}

/// A mesh's morph target weights: those asked for by name, else the mesh's defaults.
struct Morphs<'a> {
    names: &'a [String],
    defaults: &'a [f32],
    weights: &'a HashMap<String, f32>,
}

impl Morphs<'_> {
    fn weight(&self, target: usize) -> f32 {
        self.names
            .get(target)
            .and_then(|n| self.weights.get(n))
            .copied()
            .unwrap_or_else(|| self.defaults.get(target).copied().unwrap_or(0.0))
    }
}

/// Each joint's skinning matrix: its global transform times its inverse bind matrix.
fn joint_matrices(loaded: &Loaded, skin: &gltf::Skin, globals: &[Option<Mat4>]) -> Vec<Mat4> {
    let reader = skin.reader(|b| loaded.buffers.get(b.index()).map(Vec::as_slice));
    let ibms: Vec<Mat4> = reader
        .read_inverse_bind_matrices()
        .map(|it| it.map(|m| Mat4::from_cols_array_2d(&m)).collect())
        .unwrap_or_default();
    skin.joints()
        .enumerate()
        .map(|(k, joint)| {
            globals[joint.index()].unwrap_or(Mat4::IDENTITY)
                * ibms.get(k).copied().unwrap_or(Mat4::IDENTITY)
        })
        .collect()
}

/// The primitive's positions with its morph targets applied; `None` when it has no positions.
fn morphed_positions(
    loaded: &Loaded,
    prim: &gltf::Primitive,
    morphs: &Morphs,
) -> Option<Vec<Vec3>> {
    let reader = prim.reader(|b| loaded.buffers.get(b.index()).map(Vec::as_slice));
    let mut positions: Vec<Vec3> = reader.read_positions()?.map(Vec3::from).collect();
    for (t, target) in reader.read_morph_targets().enumerate() {
        let w = morphs.weight(t);
        if w == 0.0 {
            continue;
        }
        if let Some(deltas) = target.0 {
            for (p, d) in positions.iter_mut().zip(deltas) {
                *p += Vec3::from(d) * w;
            }
        }
    }
    Some(positions)
}

/// Positions and normals moved by their joints (linear blend skinning); a vertex without joints or weights
/// stays where it is.
fn skinned(
    loaded: &Loaded,
    prim: &gltf::Primitive,
    joints: &[Mat4],
    positions: &[Vec3],
    normals: &[Vec3],
) -> (Vec<Vec3>, Vec<Vec3>) {
    let reader = prim.reader(|b| loaded.buffers.get(b.index()).map(Vec::as_slice));
    let js: Vec<[u16; 4]> = reader
        .read_joints(0)
        .map(|j| j.into_u16().collect())
        .unwrap_or_default();
    let ws: Vec<[f32; 4]> = reader
        .read_weights(0)
        .map(|w| w.into_f32().collect())
        .unwrap_or_default();
    positions
        .iter()
        .zip(normals)
        .enumerate()
        .map(|(i, (p, n))| {
            let (Some(j), Some(w)) = (js.get(i), ws.get(i)) else {
                return (*p, *n);
            };
            let mut m = Mat4::ZERO;
            for k in 0..4 {
                if let Some(jm) = joints.get(j[k] as usize) {
                    m += *jm * w[k];
                }
            }
            (
                m.transform_point3(*p),
                m.transform_vector3(*n).normalize_or(*n),
            )
        })
        .unzip()
}

/// Positions and normals of an unskinned mesh, moved with its node.
fn transformed(global: Mat4, positions: &[Vec3], normals: &[Vec3]) -> (Vec<Vec3>, Vec<Vec3>) {
    positions
        .iter()
        .zip(normals)
        .map(|(p, n)| {
            (
                global.transform_point3(*p),
                global.transform_vector3(*n).normalize_or(*n),
            )
        })
        .unzip()
}
