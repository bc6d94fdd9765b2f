//! Avatars: whatever bytes a `.glb` or `.gltf` holds, loading gives an avatar or a clear error.

use proptest::prelude::*;
use twin_fuzz::{config, near};

/// A small, valid glTF document: one triangle, with a skin, as JSON with its buffer inline.
fn triangle() -> Vec<u8> {
    let positions: Vec<u8> = [0.0f32, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        .iter()
        .flat_map(|f| f.to_le_bytes())
        .collect();
    let indices: Vec<u8> = [0u16, 1, 2, 0]
        .iter()
        .flat_map(|i| i.to_le_bytes())
        .collect();
    let mut buffer = positions.clone();
    buffer.extend(&indices);
    let b64 = base64(&buffer);
    serde_json::json!({
        "asset": {"version": "2.0"},
        "buffers": [{"uri": format!("data:application/octet-stream;base64,{b64}"), "byteLength": buffer.len()}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": 36},
            {"buffer": 0, "byteOffset": 36, "byteLength": 6}
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3", "min": [0,0,0], "max": [1,1,0]},
            {"bufferView": 1, "componentType": 5123, "count": 3, "type": "SCALAR"}
        ],
        "meshes": [{"name": "head", "primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
        "nodes": [{"mesh": 0, "name": "Head"}],
        "scenes": [{"nodes": [0]}]
    })
    .to_string()
    .into_bytes()
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                A[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn avatars_load_or_are_refused(bytes in near(vec![triangle()])) {
        let _ = twin_avatar::skin::load(&bytes, None);
    }
}
