//! Textured glTF avatars: base colour textures (PNG and JPEG, from the binary chunk) and metallic-roughness
//! textures reach the screen through their texture coordinates, and images Twin cannot read are refused by
//! name.

use glam::Vec3;
use serde_json::json;
use std::sync::Arc;
use twin_avatar::glb::{GlbWriter, material};
use twin_render::offscreen::{FORMAT, OffscreenTarget, Pixels};
use twin_render::{GpuContext, Renderer, View};
use twin_scene::AvatarScene;

const SIDE: u32 = 16;

/// Left half red, right half blue.
fn halves() -> Vec<u8> {
    (0..SIDE * SIDE)
        .flat_map(|i| {
            if i % SIDE < SIDE / 2 {
                [220u8, 30, 30, 255]
            } else {
                [30, 30, 220, 255]
            }
        })
        .collect()
}

fn png_bytes(rgba: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, SIDE, SIDE);
        e.set_color(png::ColorType::Rgba);
        e.set_depth(png::BitDepth::Eight);
        e.write_header().unwrap().write_image_data(rgba).unwrap();
    }
    out
}

fn jpeg_bytes(rgba: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let rgb: Vec<u8> = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    jpeg_encoder::Encoder::new(&mut out, 95)
        .encode(&rgb, SIDE as u16, SIDE as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

/// A 1 m square facing +Z at the origin, textured with `image`.
fn textured_quad(image: &[u8], mime: &str) -> Vec<u8> {
    quad(Some((image, mime)), None)
}

/// The square, with a base colour texture and a metallic-roughness one (PNG) where given.
fn quad(base: Option<(&[u8], &str)>, metallic_roughness: Option<&[u8]>) -> Vec<u8> {
    let mut w = GlbWriter::default();
    let positions = [
        [-0.5, 0.5, 0.0],
        [0.5, 0.5, 0.0],
        [0.5, -0.5, 0.0],
        [-0.5, -0.5, 0.0],
    ];
    let normals = [[0.0, 0.0, 1.0]; 4];
    let uvs = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
    let (p, n, t) = (w.vec3(&positions), w.vec3(&normals), w.vec2(&uvs));
    let i = w.indices(&[0, 3, 2, 0, 2, 1]);
    // Dark where untextured, so a highlight does not clip.
    let grey = if base.is_some() { 1.0 } else { 0.1 };
    let mut m = material("cloth", [grey, grey, grey, 1.0], 0.0, 1.0, true);
    if let Some((image, mime)) = base {
        let texture = w.texture(image, mime);
        m["pbrMetallicRoughness"]["baseColorTexture"] = json!({"index": texture});
    }
    if let Some(image) = metallic_roughness {
        let texture = w.texture(image, "image/png");
        m["pbrMetallicRoughness"]["metallicRoughnessTexture"] = json!({"index": texture});
    }
    w.materials.push(m);
    w.meshes.push(json!({"name": "quad", "primitives": [{
        "attributes": {"POSITION": p, "NORMAL": n, "TEXCOORD_0": t},
        "indices": i,
        "material": 0,
    }]}));
    w.nodes.push(json!({"name": "quad", "mesh": 0}));
    w.finish(&[0], json!({}))
}

fn render(glb: &[u8]) -> Pixels {
    render_from(glb, Vec3::new(0.0, 0.0, 1.5))
}

/// The square seen from `eye`.
fn render_from(glb: &[u8], eye: Vec3) -> Pixels {
    let ctx = Arc::new(GpuContext::headless().unwrap());
    let mut renderer =
        Renderer::new(ctx, FORMAT, 1, ash::vk::ImageLayout::TRANSFER_SRC_OPTIMAL).unwrap();
    let mut target = OffscreenTarget::new(&renderer, 64, 64).unwrap();
    let mut scene = AvatarScene::new(twin_avatar::skin::load(glb, None).unwrap()).unwrap();
    scene.attach(&mut renderer).unwrap();
    let view = View::look_at(eye, Vec3::ZERO, 30f32.to_radians(), 1.0);
    let image = target.render(&mut renderer, &[view]).unwrap().remove(0);
    target.destroy(&renderer);
    image
}

fn pixel(p: &Pixels, x: u32, y: u32) -> [u8; 4] {
    let i = ((y * p.width + x) * 4) as usize;
    [p.rgba[i], p.rgba[i + 1], p.rgba[i + 2], p.rgba[i + 3]]
}

#[test]
fn png_and_jpeg_base_colour_textures_reach_the_screen() {
    for (image, mime) in [
        (png_bytes(&halves()), "image/png"),
        (jpeg_bytes(&halves()), "image/jpeg"),
    ] {
        let p = render(&textured_quad(&image, mime));
        let (left, right) = (pixel(&p, 22, 32), pixel(&p, 42, 32));
        assert!(
            left[0] > 2 * left[2] && left[0] > 60,
            "{mime}: the left half is red: {left:?}"
        );
        assert!(
            right[2] > 2 * right[0] && right[2] > 60,
            "{mime}: the right half is blue: {right:?}"
        );
    }
}

/// Roughness (green) `left` on the left half and `right` on the right, no metal.
fn roughness_halves(left: u8, right: u8) -> Vec<u8> {
    (0..SIDE * SIDE)
        .flat_map(|i| [255, if i % SIDE < SIDE / 2 { left } else { right }, 0, 255])
        .collect()
}

/// Mean absolute difference of two renders over the columns `x0..x1`, per channel (0..255).
fn difference(a: &Pixels, b: &Pixels, x0: u32, x1: u32) -> f32 {
    let mut sum = 0.0;
    let mut n = 0;
    for y in 0..a.height {
        for x in x0..x1 {
            let (p, q) = (pixel(a, x, y), pixel(b, x, y));
            sum += (0..3)
                .map(|k| (p[k] as f32 - q[k] as f32).abs())
                .sum::<f32>()
                / 3.0;
            n += 1;
        }
    }
    sum / n as f32
}

#[test]
fn a_roughness_map_sets_where_the_surface_shines() {
    // Where the key light (the default lighting's) mirrors into the eye at the square's centre.
    let eye = Vec3::new(1.0, -0.9, 1.5);
    let seen = |left: u8, right: u8| {
        render_from(
            &quad(None, Some(&png_bytes(&roughness_halves(left, right)))),
            eye,
        )
    };
    let (rough, smooth, halves) = (seen(255, 255), seen(30, 30), seen(30, 255));
    assert!(
        difference(&rough, &smooth, 0, 64) > 2.0,
        "a smooth map shines differently from a rough one"
    );
    assert!(
        difference(&halves, &smooth, 16, 28) < difference(&halves, &rough, 16, 28),
        "the smooth half is smooth"
    );
    assert!(
        difference(&halves, &rough, 36, 48) < difference(&halves, &smooth, 36, 48),
        "the rough half is rough"
    );
    // A white texel scales nothing: a map of roughness 1 is the factor 1 alone.
    let factor_only = render_from(&quad(None, None), eye);
    assert!(
        difference(&factor_only, &rough, 0, 64) < 0.5,
        "no map is a map of 1 under the factor"
    );
}

#[test]
fn an_alpha_mask_leaves_out_what_falls_short() {
    // Left half transparent, right half opaque, both white.
    let rgba: Vec<u8> = (0..SIDE * SIDE)
        .flat_map(|i| [255, 255, 255, if i % SIDE < SIDE / 2 { 0 } else { 255 }])
        .collect();
    let glb = textured_quad(&png_bytes(&rgba), "image/png");
    let blended = render(&glb);
    // The same file with the material's alpha as a mask.
    let json_len = u32::from_le_bytes(glb[12..16].try_into().unwrap()) as usize;
    let mut doc: serde_json::Value = serde_json::from_slice(&glb[20..20 + json_len]).unwrap();
    doc["materials"][0]["alphaMode"] = json!("MASK");
    doc["materials"][0]["alphaCutoff"] = json!(0.5);
    let bin = &glb[20 + json_len + 8..];
    let glb = twin_avatar::glb::container(&serde_json::to_vec(&doc).unwrap(), bin);
    let masked = render(&glb);
    let background = pixel(&masked, 1, 1);
    assert_eq!(
        pixel(&masked, 22, 32),
        background,
        "the transparent half is left out"
    );
    assert_ne!(
        pixel(&masked, 42, 32),
        background,
        "the opaque half is drawn"
    );
    assert_ne!(
        pixel(&blended, 22, 32),
        background,
        "without a mask it is drawn"
    );
}

#[test]
fn an_unreadable_image_is_named() {
    let glb = textured_quad(b"RIFF....WEBPVP8 ", "image/webp");
    let loaded = twin_avatar::skin::load(&glb, None).unwrap();
    let err = AvatarScene::new(loaded).err().expect("refused").to_string();
    assert!(
        err.contains("image 0") && err.contains("image/webp"),
        "{err}"
    );
    let broken = textured_quad(b"\x89PNG\r\n\x1a\nbroken", "image/png");
    let err = AvatarScene::new(twin_avatar::skin::load(&broken, None).unwrap())
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("does not decode"), "{err}");
}
