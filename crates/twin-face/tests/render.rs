//! The fitted likeness drawn by the real renderer (lavapipe) from the camera fitted to astronaut.png (a
//! public-domain NASA portrait, only ever scored), then read by the same Face Mesh: its landmarks must land
//! where the photo's are. Writes a side-by-side picture (photo, render from the photo's camera, render turned
//! 35°) to `target/likeness/side-by-side.png` for a person to look at.

use glam::{Mat3, Mat4, Vec2, Vec3, Vec4};
use std::sync::Arc;
use twin_face::likeness::{self, Request};
use twin_face::{FaceReader, Photo, dlib68};
use twin_render::avatar::AvatarScene;
use twin_render::offscreen::{FORMAT, OffscreenTarget};
use twin_render::{GpuContext, Renderer, View};

mod common;
use common::{models, root};

/// The fitted scaled-orthographic camera as a clip-space matrix over the avatar's space (metres): x and y as
/// the photo's pixels, depth from the model's nearness, `turn` about the vertical through `pivot` first.
fn photo_view(report: &likeness::Report, turn: f32, pivot: Vec3) -> View {
    let photo = &report.photos[0];
    let c = &photo.camera;
    let rows = Mat3::from_cols_array_2d(&c.rotation).transpose();
    let offset = Vec3::from(report.face_offset_m);
    let (w, h) = (photo.width as f32, photo.height as f32);
    // World (m) -> model (cm): (p - offset) * 100, turned about the pivot.
    let to_model = Mat4::from_scale(Vec3::splat(100.0))
        * Mat4::from_translation(-offset)
        * Mat4::from_translation(pivot)
        * Mat4::from_rotation_y(turn)
        * Mat4::from_translation(-pivot);
    let r = Mat4::from_mat3(rows);
    // Model (cm, turned) -> pixels and depth -> clip.
    let s = c.scale;
    let [tx, ty] = c.translation;
    let to_clip = Mat4::from_cols(
        Vec4::new(2.0 * s / w, 0.0, 0.0, 0.0),
        Vec4::new(0.0, -2.0 * s / h, 0.0, 0.0),
        Vec4::new(0.0, 0.0, -1.0 / 1000.0, 0.0),
        Vec4::new(2.0 * tx / w - 1.0, 2.0 * ty / h - 1.0, 0.5, 1.0),
    );
    View {
        eye: pivot + Vec3::new(0.0, 0.0, 10.0),
        view_proj: to_clip * r * to_model,
    }
}

#[test]
fn the_rendered_likeness_reads_as_the_photo_to_the_face_mesh() {
    let dir = common::pack_copy(
        "",
        "\n[likeness]\nconsent = \"test: a public-domain photo, scored and thrown away\"\n",
    );
    let photo_path = models().join("photo-astronaut/astronaut.png");
    let photos = [photo_path.clone()];
    let out = dir.path().join("avatar.glb");
    let models = models();
    let report = likeness::from_photos(&Request {
        photos: &photos,
        pack: dir.path(),
        models: &models,
        avatar_out: &out,
    })
    .unwrap();

    let ctx = Arc::new(GpuContext::headless().expect("Vulkan (lavapipe: mesa-vulkan-drivers)"));
    let mut renderer =
        Renderer::new(ctx, FORMAT, 1, ash::vk::ImageLayout::TRANSFER_SRC_OPTIMAL).unwrap();
    let photo = Photo::load(&photo_path).unwrap();
    let mut target = OffscreenTarget::new(&renderer, photo.width, photo.height).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    let mut avatar = AvatarScene::new(twin_avatar::skin::load(&bytes, None).unwrap()).unwrap();
    avatar.attach(&mut renderer).unwrap();
    // The avatar as the photo shows her: the expression fitted to it, on the avatar's ARKit-named morphs
    // (the face model's _L/_R halves of browInnerUp and cheekPuff are summed into one morph each: half of
    // each half's weight).
    let mut pose = twin_animate::Pose::rest(&avatar.rig);
    let mut weights = std::collections::BTreeMap::<String, f32>::new();
    for (name, w) in &report.photos[0].expression {
        let name = match name.as_str() {
            "browInnerUp_L" | "browInnerUp_R" => "browInnerUp".to_string(),
            "cheekPuff_L" | "cheekPuff_R" => "cheekPuff".to_string(),
            other => other.replace("_L", "Left").replace("_R", "Right"),
        };
        let share = if name == "browInnerUp" || name == "cheekPuff" {
            0.5
        } else {
            1.0
        };
        *weights.entry(name).or_default() += *w * share;
    }
    for (name, w) in &weights {
        pose.set(&avatar.rig, name, w.min(1.0));
    }
    avatar.apply(&pose);
    avatar.upload(&mut renderer).unwrap();
    let head = Vec3::from(report.face_offset_m);
    let mut render = |turn: f32| -> Photo {
        let p = target
            .render(&mut renderer, &[photo_view(&report, turn, head)])
            .unwrap()
            .remove(0);
        Photo {
            width: p.width,
            height: p.height,
            rgb: p.rgba.chunks(4).flat_map(|c| [c[0], c[1], c[2]]).collect(),
        }
    };
    let front = render(0.0);
    let turned = render(35f32.to_radians());

    let side = root().join("target/likeness/side-by-side.png");
    std::fs::create_dir_all(side.parent().unwrap()).unwrap();
    let (w, h) = (photo.width as usize, photo.height as usize);
    let mut picture = Photo::filled(3 * photo.width, photo.height, [0; 3]);
    for (k, image) in [&photo, &front, &turned].into_iter().enumerate() {
        for y in 0..h {
            let row = &image.rgb[3 * y * w..3 * (y + 1) * w];
            let at = 3 * (y * 3 * w + k * w);
            picture.rgb[at..at + 3 * w].copy_from_slice(row);
        }
    }
    picture.save_png(&side).unwrap();

    let reader = FaceReader::load(&twin_face::models_dir(&models)).unwrap();
    let want = dlib68::points(&reader.read(&photo, "astronaut.png").unwrap().1);
    let got = dlib68::points(&reader.read(&front, "the render").unwrap().1);
    let iod = dlib68::inter_ocular(&want);
    let error = dlib68::INNER.map(|i| want[i].distance(got[i])).sum::<f32>()
        / dlib68::INNER.len() as f32
        / iod;
    let eyes_and_nose: Vec<Vec2> = (27..48).map(|i| want[i] - got[i]).collect();
    println!(
        "render vs photo: inner landmarks {:.1}% of the eye distance; eyes and nose {:.1}%",
        100.0 * error,
        100.0 * eyes_and_nose.iter().map(|d| d.length()).sum::<f32>()
            / eyes_and_nose.len() as f32
            / iod
    );
    assert!(error < 0.05, "{error}");
}
