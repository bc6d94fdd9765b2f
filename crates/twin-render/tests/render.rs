//! Real Vulkan rendering (lavapipe on machines without a GPU) of the demo avatar, compared with stored
//! reference images by SSIM. `TWIN_UPDATE_REFERENCES=1` rewrites the references; on a mismatch the rendered
//! image and a difference image are written to `target/render-failures/`.
//!
//! Known driver differences: references are made on Mesa lavapipe; a GPU driver rasterizes edges and rounds
//! sRGB slightly differently, which the SSIM tolerance absorbs.

use glam::{Quat, Vec3};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use twin_animate::{NodeOffset, Pose, Skinning};
use twin_render::compare::{difference, region_change, ssim};
use twin_render::offscreen::{FORMAT, OffscreenTarget, Pixels};
use twin_render::{GpuContext, Renderer, View};
use twin_scene::AvatarScene;

const WIDTH: u32 = 256;
const HEIGHT: u32 = 320;
/// Tolerance for driver differences (1 = identical).
const MIN_SSIM: f32 = 0.97;

use twin_testkit::workspace_root as root;

fn avatar_file() -> PathBuf {
    let f = twin_testkit::models_dir().join("avatars/owen-marsh.glb");
    assert!(
        f.is_file(),
        "{} is missing: run `cargo xtask setup`",
        f.display()
    );
    f
}

struct Scene {
    renderer: Renderer,
    target: OffscreenTarget,
    avatar: AvatarScene,
}

// SAFETY of sharing: the scene is only used under the mutex.
unsafe impl Send for Scene {}

/// One context, renderer and target for the whole test binary (Vulkan setup costs more than a frame).
fn scene() -> &'static Mutex<Scene> {
    static SCENE: OnceLock<Mutex<Scene>> = OnceLock::new();
    SCENE.get_or_init(|| {
        let ctx = Arc::new(GpuContext::headless().expect("Vulkan (lavapipe: mesa-vulkan-drivers)"));
        let mut renderer =
            Renderer::new(ctx, FORMAT, 1, ash::vk::ImageLayout::TRANSFER_SRC_OPTIMAL).unwrap();
        let target = OffscreenTarget::new(&renderer, WIDTH, HEIGHT).unwrap();
        let bytes = std::fs::read(avatar_file()).unwrap();
        let mut avatar = AvatarScene::new(twin_avatar::skin::load(&bytes, None).unwrap()).unwrap();
        avatar.attach(&mut renderer).unwrap();
        Mutex::new(Scene {
            renderer,
            target,
            avatar,
        })
    })
}

/// The face, as a person 0.9 m in front of it sees it.
fn portrait_view() -> View {
    View::look_at(
        Vec3::new(0.0, 1.70, 0.75),
        Vec3::new(0.0, 1.68, 0.0),
        22f32.to_radians(),
        WIDTH as f32 / HEIGHT as f32,
    )
}

/// A pose with these morph weights and node turns (about the model's axes).
fn pose_of(rig: &twin_animate::Rig, weights: &[(&str, f32)], turns: &HashMap<usize, Quat>) -> Pose {
    let mut pose = Pose::rest(rig);
    for (name, w) in weights {
        pose.set(rig, name, *w);
    }
    pose.offsets = turns
        .iter()
        .map(|(node, rotation)| NodeOffset {
            node: *node,
            rotation: *rotation,
            translation: Vec3::ZERO,
        })
        .collect();
    pose
}

/// Renders the avatar with these morph weights and node turns.
fn render(weights: &[(&str, f32)], turns: &HashMap<usize, Quat>) -> Pixels {
    let mut s = scene().lock().unwrap_or_else(|p| p.into_inner());
    render_in(&mut s, weights, turns)
}

/// [`render`] with the scene already locked (tests run in parallel and share it).
fn render_in(s: &mut Scene, weights: &[(&str, f32)], turns: &HashMap<usize, Quat>) -> Pixels {
    let Scene {
        renderer,
        target,
        avatar,
    } = s;
    avatar.apply(&pose_of(&avatar.rig, weights, turns));
    avatar.upload(renderer).unwrap();
    target
        .render(renderer, &[portrait_view()])
        .unwrap()
        .remove(0)
}

fn write_png(path: &std::path::Path, p: &Pixels) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    p.write_png(path).unwrap();
}

fn read_png(path: &std::path::Path) -> Option<Pixels> {
    let decoder = png::Decoder::new(std::fs::File::open(path).ok()?);
    let mut reader = decoder.read_info().ok()?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).ok()?;
    (info.color_type == png::ColorType::Rgba).then(|| Pixels {
        width: info.width,
        height: info.height,
        rgba: buf[..info.buffer_size()].to_vec(),
    })
}

/// Compares with the stored reference `name`.png.
fn matches_reference(name: &str, got: &Pixels) {
    let reference = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/references")
        .join(format!("{name}.png"));
    if std::env::var_os("TWIN_UPDATE_REFERENCES").is_some() {
        write_png(&reference, got);
        return;
    }
    let want = read_png(&reference).unwrap_or_else(|| {
        panic!(
            "no reference {} (TWIN_UPDATE_REFERENCES=1 makes it)",
            reference.display()
        )
    });
    let score = ssim(&want, got).expect("same size");
    if score < MIN_SSIM {
        let dir = root().join("target/render-failures");
        write_png(&dir.join(format!("{name}.png")), got);
        write_png(
            &dir.join(format!("{name}.diff.png")),
            &difference(&want, got),
        );
        panic!(
            "{name}: SSIM {score:.4} < {MIN_SSIM}; see {}",
            dir.display()
        );
    }
}

fn project(p: Vec3) -> (u32, u32) {
    let c = portrait_view().view_proj * p.extend(1.0);
    let (x, y) = (c.x / c.w, c.y / c.w);
    (
        ((x * 0.5 + 0.5) * WIDTH as f32) as u32,
        ((y * 0.5 + 0.5) * HEIGHT as f32) as u32,
    )
}

/// The eyes' centres in the world, from the avatar's own nodes.
fn eye_centres() -> [Vec3; 2] {
    let s = scene().lock().unwrap_or_else(|p| p.into_inner());
    let doc = &s.avatar.loaded.doc;
    let globals = twin_avatar::skin::global_transforms(doc, &HashMap::new());
    ["eyeLeft", "eyeRight"].map(|n| {
        let node = doc.nodes().find(|x| x.name() == Some(n)).unwrap();
        globals[node.index()].unwrap().transform_point3(Vec3::ZERO)
    })
}

/// x, y, width, height in pixels.
type Rect = (u32, u32, u32, u32);

/// Pixel rectangles around the left eye and the mouth (about 7 cm under the eyes).
fn regions() -> (Rect, Rect) {
    let [left, right] = eye_centres();
    let (ex, ey) = project(left + Vec3::new(0.0, 0.0, 0.012));
    let eye = (ex.saturating_sub(14), ey.saturating_sub(10), 28, 20);
    let mid = (left + right) * 0.5;
    let (mx, my) = project(mid + Vec3::new(0.0, -0.075, 0.02));
    let mouth = (mx.saturating_sub(25), my.saturating_sub(15), 50, 40);
    (eye, mouth)
}

#[test]
fn the_portrait_matches_its_reference() {
    let image = render(&[], &HashMap::new());
    // Not an empty frame: the face covers a good part of it.
    let background = image.rgba[..4].to_vec();
    let covered = image
        .rgba
        .chunks_exact(4)
        .filter(|c| *c != &background[..])
        .count();
    assert!(
        covered > (WIDTH * HEIGHT / 4) as usize,
        "{covered} pixels drawn"
    );
    write_png(&root().join("target/render/portrait.png"), &image);
    matches_reference("portrait", &image);
}

#[test]
fn jaw_open_moves_the_mouth_and_blink_the_eye() {
    let rest = render(&[], &HashMap::new());
    let open = render(&[("jawOpen", 1.0)], &HashMap::new());
    let blink = render(
        &[("eyeBlinkLeft", 1.0), ("eyeBlinkRight", 1.0)],
        &HashMap::new(),
    );
    write_png(&root().join("target/render/jaw-open.png"), &open);
    write_png(&root().join("target/render/blink.png"), &blink);
    let (eye, mouth) = regions();
    let far = (0, 0, 40, 40);
    assert!(
        region_change(&rest, &open, mouth) > 0.03,
        "jawOpen changes the mouth region"
    );
    assert!(
        region_change(&rest, &open, far) < 0.001,
        "but not the corner of the frame"
    );
    assert!(
        region_change(&rest, &blink, eye) > 0.03,
        "a blink changes the eye region"
    );
    assert!(
        region_change(&rest, &blink, mouth) < 0.005,
        "but not the mouth"
    );
}

#[test]
fn turned_eyes_look_elsewhere_and_stereo_views_differ() {
    let s = scene().lock().unwrap_or_else(|p| p.into_inner());
    let j = s.avatar.rig.joints;
    let eyes = [j.eye_left.unwrap(), j.eye_right.unwrap()];
    drop(s);
    let rest = render(&[], &HashMap::new());
    let turned: HashMap<usize, Quat> = eyes
        .iter()
        .map(|e| (*e, Quat::from_rotation_y(0.4)))
        .collect();
    let looking = render(&[], &turned);
    let (eye, _) = regions();
    assert!(region_change(&rest, &looking, eye) > 0.02, "the iris moved");

    // Stereo: a two-view renderer draws both eyes' images in one multiview pass.
    let ctx = scene()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .renderer
        .ctx
        .clone();
    let mut stereo =
        Renderer::new(ctx, FORMAT, 2, ash::vk::ImageLayout::TRANSFER_SRC_OPTIMAL).unwrap();
    let mut target = OffscreenTarget::new(&stereo, WIDTH, HEIGHT).unwrap();
    {
        let mut s = scene().lock().unwrap_or_else(|p| p.into_inner());
        let rest = Pose::rest(&s.avatar.rig);
        s.avatar.apply(&rest);
        s.avatar.attach(&mut stereo).unwrap();
    }
    let ipd = 0.064;
    let views: Vec<View> = [-ipd / 2.0, ipd / 2.0]
        .iter()
        .map(|dx| {
            View::look_at(
                Vec3::new(*dx, 1.70, 0.75),
                Vec3::new(*dx, 1.68, 0.0),
                22f32.to_radians(),
                WIDTH as f32 / HEIGHT as f32,
            )
        })
        .collect();
    let images = target.render(&mut stereo, &views).unwrap();
    assert_eq!(images.len(), 2);
    let s = ssim(&images[0], &images[1]).unwrap();
    assert!(
        s < 0.999 && s > 0.5,
        "two eyes see nearly, not exactly, the same: SSIM {s}"
    );
    // The same scene seen 3.2 cm to the side: alike, though fine detail (hair strands) shifts between them.
    let mono_like = ssim(&images[0], &rest).unwrap();
    assert!(
        mono_like > 0.5,
        "the left eye's view resembles the mono view: {mono_like}"
    );
    target.destroy(&stereo);
}

#[test]
fn skinning_in_the_vertex_shader_matches_the_cpu() {
    // A pose that bends every blended part: head turned and nodding, neck tilted, spine bent, jaw open.
    let (turns, ctx) = {
        let s = scene().lock().unwrap_or_else(|p| p.into_inner());
        let j = s.avatar.rig.joints;
        let turns: HashMap<usize, Quat> = [
            (
                j.head.unwrap(),
                Quat::from_rotation_y(0.35) * Quat::from_rotation_x(0.15),
            ),
            (j.neck.unwrap(), Quat::from_rotation_z(0.12)),
            (j.spine.unwrap(), Quat::from_rotation_x(0.1)),
        ]
        .into_iter()
        .collect();
        (turns, s.renderer.ctx.clone())
    };
    let weights = [("jawOpen", 0.7), ("mouthSmileLeft", 0.5)];
    let cpu = render(&weights, &turns);

    let bytes = std::fs::read(avatar_file()).unwrap();
    let mut avatar = AvatarScene::with_skinning(
        twin_avatar::skin::load(&bytes, None).unwrap(),
        Skinning::Gpu,
    )
    .unwrap();
    let mut renderer =
        Renderer::new(ctx, FORMAT, 1, ash::vk::ImageLayout::TRANSFER_SRC_OPTIMAL).unwrap();
    let mut target = OffscreenTarget::new(&renderer, WIDTH, HEIGHT).unwrap();
    avatar.attach(&mut renderer).unwrap();
    avatar.apply(&pose_of(&avatar.rig, &weights, &turns));
    avatar.upload(&mut renderer).unwrap();
    let gpu = target
        .render(&mut renderer, &[portrait_view()])
        .unwrap()
        .remove(0);
    target.destroy(&renderer);
    write_png(&root().join("target/render/skinned-gpu.png"), &gpu);
    let rest = render(&[], &HashMap::new());
    let same = ssim(&cpu, &gpu).unwrap();
    assert!(same > 0.995, "GPU and CPU skinning differ: SSIM {same}");
    // And the pose is not the rest pose (the comparison would pass trivially otherwise).
    let moved = ssim(&rest, &gpu).unwrap();
    assert!(
        moved < 0.95,
        "the posed twin looks like the rest pose: SSIM {moved}"
    );
}

/// A panel (captions) beside the face: drawn unlit, its picture where its corners project, upright and not
/// mirrored, over the avatar's background; removing it restores the frame.
#[test]
fn a_panel_shows_its_picture_unlit_where_it_stands() {
    // Left half red, right half blue; a green top row band, so a flip either way shows.
    let (w, h) = (64u32, 32u32);
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let c = if y < 8 {
                [0, 255, 0, 255]
            } else if x < w / 2 {
                [255, 0, 0, 255]
            } else {
                [0, 0, 255, 255]
            };
            rgba.extend_from_slice(&c);
        }
    }
    let centre = Vec3::new(0.0, 1.68, 0.2);
    let size = Vec3::new(0.16, 0.08, 1.0);
    let world = glam::Mat4::from_translation(centre) * glam::Mat4::from_scale(size);
    // One lock for the three frames: another test's pose must not come in between.
    let (without, got, after) = {
        let mut s = scene().lock().unwrap_or_else(|p| p.into_inner());
        let without = render_in(&mut s, &[], &HashMap::new());
        s.renderer
            .set_panel(
                0,
                Some(twin_render::PanelData {
                    image: twin_render::TextureData {
                        width: w,
                        height: h,
                        rgba: &rgba,
                    },
                    world,
                }),
            )
            .unwrap();
        let got = render_in(&mut s, &[], &HashMap::new());
        s.renderer.set_panel(0, None).unwrap();
        let after = render_in(&mut s, &[], &HashMap::new());
        (without, got, after)
    };
    let at = |p: Vec3| {
        let (x, y) = project(p);
        let i = ((y * WIDTH + x) * 4) as usize;
        [got.rgba[i], got.rgba[i + 1], got.rgba[i + 2]]
    };
    // A quarter in from each side, below the band: red on the left, blue on the right, unlit (full).
    let left = at(centre + Vec3::new(-0.04, -0.015, 0.0));
    let right = at(centre + Vec3::new(0.04, -0.015, 0.0));
    let top = at(centre + Vec3::new(0.0, 0.035, 0.0));
    assert!(left[0] > 240 && left[1] < 15 && left[2] < 15, "{left:?}");
    assert!(
        right[2] > 240 && right[0] < 15 && right[1] < 15,
        "{right:?}"
    );
    assert!(top[1] > 240 && top[0] < 15, "{top:?}");
    // Outside it the frame is the one without the panel.
    let (x, y) = project(Vec3::new(0.0, 1.58, 0.0));
    let i = ((y * WIDTH + x) * 4) as usize;
    assert_eq!(got.rgba[i..i + 3], without.rgba[i..i + 3]);
    assert_eq!(after.rgba, without.rgba, "the panel is gone");
}
