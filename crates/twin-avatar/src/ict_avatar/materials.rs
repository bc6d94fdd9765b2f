//! The avatar's materials: a flat colour for each part, then the face's texture and shine, the hair's strand
//! texture, and the iris and hair colours from the photos.

use super::{Albedo, BuildOptions};
use crate::glb::{GlbWriter, material, with_clearcoat};
use crate::ict::IctModel;
use glam::Vec3;
use serde_json::json;

/// The materials by name, in the file's order.
pub(super) type Materials = Vec<(&'static str, serde_json::Value)>;

/// The index of the material called `name`.
pub(super) fn index(list: &[(&str, serde_json::Value)], name: &str) -> Option<usize> {
    list.iter().position(|(n, _)| *n == name)
}

pub(super) fn materials() -> Materials {
    vec![
        (
            "skin",
            material("skin", [0.70, 0.42, 0.30, 1.0], 0.0, 0.55, false),
        ),
        (
            "scalp",
            material("scalp", [0.70, 0.42, 0.30, 1.0], 0.0, 0.55, false),
        ),
        (
            "mouth",
            material("mouth", [0.45, 0.10, 0.11, 1.0], 0.0, 0.45, false),
        ),
        (
            "teeth",
            material("teeth", [0.80, 0.76, 0.66, 1.0], 0.0, 0.35, false),
        ),
        (
            "eyelashes",
            material("eyelashes", [0.02, 0.015, 0.01, 1.0], 0.0, 0.8, true),
        ),
        (
            "sclera",
            cornea(material("sclera", [0.82, 0.80, 0.77, 1.0], 0.0, 0.3, false)),
        ),
        (
            "iris",
            cornea(material("iris", [0.10, 0.06, 0.035, 1.0], 0.0, 0.4, false)),
        ),
        (
            "pupil",
            cornea(material(
                "pupil",
                [0.008, 0.007, 0.007, 1.0],
                0.0,
                0.4,
                false,
            )),
        ),
        (
            "hair",
            material("hair", [0.035, 0.022, 0.014, 1.0], 0.0, 0.75, false),
        ),
        (
            "shirt",
            material("shirt", [0.03, 0.05, 0.12, 1.0], 0.0, 0.85, false),
        ),
        (
            "trousers",
            material("trousers", [0.05, 0.05, 0.06, 1.0], 0.0, 0.9, false),
        ),
        (
            "hands",
            material("hands", [0.70, 0.42, 0.30, 1.0], 0.0, 0.55, false),
        ),
        (
            "shoes",
            material("shoes", [0.015, 0.012, 0.01, 1.0], 0.0, 0.4, false),
        ),
    ]
}

/// Textures and the photos' colours on `w`'s materials (already `list`'s), their images written in this
/// order: face, shine, hair.
pub(super) fn dress(
    w: &mut GlbWriter,
    list: &Materials,
    model: &IctModel,
    face: &[Vec3],
    options: &BuildOptions,
) {
    // A face nobody photographed still gets skin that is not one flat tone.
    let invented;
    let albedo = match &options.albedo {
        Some(albedo) => albedo,
        None => {
            invented = crate::complexion::invented(model, face);
            &invented
        }
    };
    wear_albedo(w, list, albedo);
    wear_roughness(w, list, &crate::roughness::skin(model, face));
    if let Some(i) = index(list, "hair") {
        let texture = w.texture(&crate::hair::texture(), "image/png");
        w.materials[i]["pbrMetallicRoughness"]["baseColorTexture"] = json!({"index": texture});
        w.materials[i]["alphaMode"] = json!("MASK");
        w.materials[i]["alphaCutoff"] = json!(0.5);
    }
    for (name, colour) in [("iris", options.iris), ("hair", options.hair)] {
        if let (Some(i), Some([r, g, b])) = (index(list, name), colour) {
            w.materials[i]["pbrMetallicRoughness"]["baseColorFactor"] = json!([r, g, b, 1.0]);
        }
    }
}

/// The wet, smooth film over the eye, whose highlight says the eye is alive.
fn cornea(m: serde_json::Value) -> serde_json::Value {
    with_clearcoat(m, 1.0, 0.1)
}

/// The face's shine: where it is oily, moist or dry (see [`crate::roughness`]).
fn wear_roughness(w: &mut GlbWriter, names: &[(&str, serde_json::Value)], png: &[u8]) {
    let texture = w.texture(png, "image/png");
    if let Some(i) = index(names, "skin") {
        let pbr = &mut w.materials[i]["pbrMetallicRoughness"];
        pbr["roughnessFactor"] = json!(1.0);
        pbr["metallicFactor"] = json!(1.0);
        pbr["metallicRoughnessTexture"] = json!({"index": texture});
    }
}

/// The face's texture (from photos, or invented) on the face, its skin tone on the skin it does not cover.
fn wear_albedo(w: &mut GlbWriter, names: &[(&str, serde_json::Value)], albedo: &Albedo) {
    let texture = w.texture(&albedo.png, "image/png");
    let [r, g, b] = albedo.skin;
    for (i, (name, _)) in names.iter().enumerate() {
        let pbr = &mut w.materials[i]["pbrMetallicRoughness"];
        match *name {
            "skin" => {
                pbr["baseColorFactor"] = json!([1.0, 1.0, 1.0, 1.0]);
                pbr["baseColorTexture"] = json!({"index": texture});
            }
            "scalp" | "hands" => pbr["baseColorFactor"] = json!([r, g, b, 1.0]),
            _ => {}
        }
    }
}
