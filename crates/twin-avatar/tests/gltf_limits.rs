//! Avatars from outside are read with care: their files stay inside the avatar's folder, and numbers in them
//! that would wrap are refused with a clear error, never a panic.

use twin_avatar::skin::load;

/// A glTF document with one buffer at `uri` of `length` bytes, and one accessor over it.
fn gltf(uri: &str, length: usize, count: usize, stride: usize) -> Vec<u8> {
    serde_json::json!({
        "asset": {"version": "2.0"},
        "buffers": [{"uri": uri, "byteLength": length}],
        "bufferViews": [{"buffer": 0, "byteLength": length, "byteStride": stride}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": count, "type": "VEC3",
            "min": [0.0, 0.0, 0.0], "max": [0.0, 0.0, 0.0]}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        "nodes": [{"mesh": 0}],
        "scenes": [{"nodes": [0]}],
    })
    .to_string()
    .into_bytes()
}

#[test]
fn files_outside_the_avatars_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let avatar = dir.path().join("avatar");
    std::fs::create_dir(&avatar).unwrap();
    std::fs::write(dir.path().join("secret.bin"), [0u8; 36]).unwrap();
    std::fs::write(avatar.join("mesh.bin"), [0u8; 36]).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/dev/zero", avatar.join("zero.bin")).unwrap();
    for uri in [
        "../secret.bin",
        "/dev/zero",
        "sub/../../secret.bin",
        "zero.bin",
        "/etc/passwd",
    ] {
        let e = load(&gltf(uri, 36, 3, 12), Some(&avatar))
            .err()
            .unwrap_or_else(|| panic!("{uri} was read"))
            .to_string();
        assert!(
            e.contains("inside the avatar's folder") || e.contains("missing buffer"),
            "{uri}: {e}"
        );
    }
    // The file beside it is read (and the document then judged on its own merits).
    let e = load(&gltf("mesh.bin", 36, 3, 12), Some(&avatar))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(!e.contains("inside the avatar's folder"), "{e}");
}

#[test]
fn numbers_that_would_wrap_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mesh.bin"), [0u8; 36]).unwrap();
    for (count, stride) in [(usize::MAX / 2, 252), (49_999_999, 252), (3, 252)] {
        let e = load(&gltf("mesh.bin", 36, count, stride), Some(dir.path()))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("accessor") || e.contains("elements"),
            "count {count}, stride {stride}: {e}"
        );
    }
}

#[test]
fn a_sparse_offset_at_the_end_of_the_address_space_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mesh.bin"), [0u8; 36]).unwrap();
    let mut doc: serde_json::Value = serde_json::from_slice(&gltf("mesh.bin", 36, 3, 12)).unwrap();
    doc["accessors"][0]["sparse"] = serde_json::json!({
        "count": 1,
        "indices": {"bufferView": 0, "byteOffset": u64::MAX, "componentType": 5125},
        "values": {"bufferView": 0, "byteOffset": 0},
    });
    let e = load(&serde_json::to_vec(&doc).unwrap(), Some(dir.path()))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("sparse") || e.contains("accessor"), "{e}");
}
