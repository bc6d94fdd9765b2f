//! A small glTF 2.0 binary (.glb) writer: one buffer, tightly packed views, accessors with bounds, sparse
//! morph targets.

use serde_json::{Value, json};

const ARRAY_BUFFER: u32 = 34962;
const ELEMENT_ARRAY_BUFFER: u32 = 34963;
const FLOAT: u32 = 5126;
const UNSIGNED_SHORT: u32 = 5123;
const UNSIGNED_INT: u32 = 5125;
const UNSIGNED_BYTE: u32 = 5121;

#[derive(Default)]
pub struct GlbWriter {
    bin: Vec<u8>,
    pub buffer_views: Vec<Value>,
    pub accessors: Vec<Value>,
    pub meshes: Vec<Value>,
    pub materials: Vec<Value>,
    pub nodes: Vec<Value>,
    pub skins: Vec<Value>,
    pub images: Vec<Value>,
    pub textures: Vec<Value>,
}

impl GlbWriter {
    fn view(&mut self, bytes: &[u8], target: Option<u32>) -> usize {
        while !self.bin.len().is_multiple_of(4) {
            self.bin.push(0);
        }
        let offset = self.bin.len();
        self.bin.extend_from_slice(bytes);
        let mut v = json!({"buffer": 0, "byteOffset": offset, "byteLength": bytes.len()});
        if let Some(t) = target {
            v["target"] = json!(t);
        }
        self.buffer_views.push(v);
        self.buffer_views.len() - 1
    }

    fn accessor(&mut self, a: Value) -> usize {
        self.accessors.push(a);
        self.accessors.len() - 1
    }

    /// An accessor over arrays of `N` floats (`kind`: "VEC2", "VEC3", "VEC4", "MAT4").
    fn floats<const N: usize>(
        &mut self,
        data: &[[f32; N]],
        kind: &str,
        target: Option<u32>,
    ) -> usize {
        let bytes: Vec<u8> = data
            .iter()
            .flatten()
            .flat_map(|f| f.to_le_bytes())
            .collect();
        let view = self.view(&bytes, target);
        self.accessor(
            json!({"bufferView": view, "componentType": FLOAT, "count": data.len(), "type": kind}),
        )
    }

    pub fn vec3(&mut self, data: &[[f32; 3]]) -> usize {
        let a = self.floats(data, "VEC3", Some(ARRAY_BUFFER));
        // Positions must carry their bounds.
        let (min, max) = bounds(data);
        self.accessors[a]["min"] = json!(min);
        self.accessors[a]["max"] = json!(max);
        a
    }

    pub fn vec2(&mut self, data: &[[f32; 2]]) -> usize {
        self.floats(data, "VEC2", Some(ARRAY_BUFFER))
    }

    pub fn joints(&mut self, data: &[[u8; 4]]) -> usize {
        let bytes: Vec<u8> = data.iter().flatten().copied().collect();
        let view = self.view(&bytes, Some(ARRAY_BUFFER));
        self.accessor(json!({"bufferView": view, "componentType": UNSIGNED_BYTE, "count": data.len(), "type": "VEC4"}))
    }

    pub fn weights(&mut self, data: &[[f32; 4]]) -> usize {
        self.floats(data, "VEC4", Some(ARRAY_BUFFER))
    }

    /// Plain floats (animation key times, morph weights).
    pub fn scalars(&mut self, data: &[f32]) -> usize {
        let wrapped: Vec<[f32; 1]> = data.iter().map(|x| [*x]).collect();
        let a = self.floats(&wrapped, "SCALAR", None);
        // Key times must carry their bounds.
        let (lo, hi) = data
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
        if !data.is_empty() {
            self.accessors[a]["min"] = json!([lo]);
            self.accessors[a]["max"] = json!([hi]);
        }
        a
    }

    /// Four floats each (rotations of an animation), not vertex data.
    pub fn vec4s(&mut self, data: &[[f32; 4]]) -> usize {
        self.floats(data, "VEC4", None)
    }

    pub fn mat4s(&mut self, data: &[[f32; 16]]) -> usize {
        self.floats(data, "MAT4", None)
    }

    pub fn indices(&mut self, data: &[u32]) -> usize {
        let max = data.iter().copied().max().unwrap_or(0);
        let (bytes, component): (Vec<u8>, u32) = if max < u16::MAX as u32 {
            let b = data
                .iter()
                .flat_map(|&i| (i as u16).to_le_bytes())
                .collect();
            (b, UNSIGNED_SHORT)
        } else {
            (
                data.iter().flat_map(|i| i.to_le_bytes()).collect(),
                UNSIGNED_INT,
            )
        };
        let view = self.view(&bytes, Some(ELEMENT_ARRAY_BUFFER));
        self.accessor(
            json!({"bufferView": view, "componentType": component, "count": data.len(), "type": "SCALAR"}),
        )
    }

    /// A morph target's position deltas for `count` vertices, storing only the vertices that move.
    pub fn sparse_vec3(&mut self, count: usize, moved: &[(u32, [f32; 3])]) -> usize {
        // A target that moves nothing still needs data: loaders (gltf-rs among them) refuse an accessor with
        // neither a buffer view nor a sparse part, so it gets one zero entry.
        let zero = [(0u32, [0.0f32; 3])];
        let moved = if moved.is_empty() { &zero[..] } else { moved };
        let index_bytes: Vec<u8> = moved.iter().flat_map(|(i, _)| i.to_le_bytes()).collect();
        let value_bytes: Vec<u8> = moved
            .iter()
            .flat_map(|(_, d)| d.iter().flat_map(|f| f.to_le_bytes()).collect::<Vec<_>>())
            .collect();
        let indices = self.view(&index_bytes, None);
        let values = self.view(&value_bytes, None);
        let deltas: Vec<[f32; 3]> = moved.iter().map(|(_, d)| *d).collect();
        let (mut min, mut max) = bounds(&deltas);
        // Unmoved vertices count too: zero is inside the bounds.
        for k in 0..3 {
            min[k] = min[k].min(0.0);
            max[k] = max[k].max(0.0);
        }
        self.accessor(json!({
            "componentType": FLOAT, "count": count, "type": "VEC3", "min": min, "max": max,
            "sparse": {
                "count": moved.len(),
                "indices": {"bufferView": indices, "componentType": UNSIGNED_INT},
                "values": {"bufferView": values}
            }
        }))
    }

    /// An encoded image (PNG or JPEG) in the binary chunk, and a texture sampling it; returns the texture.
    pub fn texture(&mut self, encoded: &[u8], mime: &str) -> usize {
        let view = self.view(encoded, None);
        self.images
            .push(json!({"bufferView": view, "mimeType": mime}));
        self.textures.push(json!({"source": self.images.len() - 1}));
        self.textures.len() - 1
    }

    /// The finished file: header, JSON chunk, binary chunk.
    pub fn finish(mut self, scene_nodes: &[usize], extras: Value) -> Vec<u8> {
        while !self.bin.len().is_multiple_of(4) {
            self.bin.push(0);
        }
        let mut doc = json!({
            "asset": {"version": "2.0", "generator": concat!("twin-avatar ", env!("CARGO_PKG_VERSION"))},
            "scene": 0,
            "scenes": [{"nodes": scene_nodes}],
            "nodes": self.nodes,
            "meshes": self.meshes,
            "materials": self.materials,
            "accessors": self.accessors,
            "bufferViews": self.buffer_views,
            "buffers": [{"byteLength": self.bin.len()}],
            "extras": extras,
        });
        if !self.skins.is_empty() {
            doc["skins"] = Value::Array(self.skins);
        }
        if !self.textures.is_empty() {
            doc["images"] = Value::Array(self.images);
            doc["textures"] = Value::Array(self.textures);
        }
        let mut used: Vec<&str> = self
            .materials
            .iter()
            .filter_map(|m| m.get("extensions")?.as_object())
            .flat_map(|e| e.keys().map(String::as_str))
            .collect();
        used.sort_unstable();
        used.dedup();
        if !used.is_empty() {
            doc["extensionsUsed"] = json!(used);
        }
        container(&serde_json::to_vec(&doc).unwrap_or_default(), &self.bin)
    }
}

/// A .glb file: header, the JSON chunk (padded with spaces) and the binary chunk (already 4-byte aligned).
pub fn container(json: &[u8], bin: &[u8]) -> Vec<u8> {
    let mut json = json.to_vec();
    while !json.len().is_multiple_of(4) {
        json.push(b' ');
    }
    let total = 12 + 8 + json.len() + 8 + bin.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&json);
    out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
    out.extend_from_slice(b"BIN\0");
    out.extend_from_slice(bin);
    out
}

fn bounds(data: &[[f32; 3]]) -> ([f32; 3], [f32; 3]) {
    let mut min = [f32::MAX; 3];
    let mut max = [f32::MIN; 3];
    for p in data {
        for k in 0..3 {
            min[k] = min[k].min(p[k]);
            max[k] = max[k].max(p[k]);
        }
    }
    if data.is_empty() {
        return ([0.0; 3], [0.0; 3]);
    }
    (min, max)
}

/// A clear wet coat over a material (glTF's `KHR_materials_clearcoat`): the cornea over the eye.
pub(crate) fn with_clearcoat(mut m: Value, factor: f32, roughness: f32) -> Value {
    m["extensions"]["KHR_materials_clearcoat"] =
        json!({"clearcoatFactor": factor, "clearcoatRoughnessFactor": roughness});
    m
}

/// A PBR material.
pub fn material(
    name: &str,
    rgba: [f32; 4],
    metallic: f32,
    roughness: f32,
    double_sided: bool,
) -> Value {
    let mut m = json!({
        "name": name,
        "pbrMetallicRoughness": {"baseColorFactor": rgba, "metallicFactor": metallic, "roughnessFactor": roughness},
        "doubleSided": double_sided,
    });
    if rgba[3] < 1.0 {
        m["alphaMode"] = json!("BLEND");
    }
    m
}
