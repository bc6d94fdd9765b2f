//! The demo avatar built from the real ICT face model (fetched by `cargo xtask setup`), checked and posed on
//! the CPU; and broken avatar files, which must give clear errors.

use glam::{Mat4, Quat, Vec3};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use twin_avatar::AvatarError;
use twin_avatar::skin::{self, Loaded};

fn models_dir() -> PathBuf {
    let dir = twin_testkit::models_dir();
    assert!(
        dir.join("ict-facekit/FaceXModel").is_dir(),
        "the ICT face model is missing in {}: run `cargo xtask setup`",
        dir.display()
    );
    dir
}

/// The demo persona's avatar, built once per test binary.
fn glb() -> &'static Vec<u8> {
    static GLB: OnceLock<Vec<u8>> = OnceLock::new();
    GLB.get_or_init(|| {
        let pack =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/personas/owen-marsh");
        let persona = twin_avatar::persona::read_persona(&pack).unwrap();
        let out = tempfile::tempdir().unwrap().keep().join("owen.glb");
        twin_avatar::persona::build_persona(&models_dir().join("ict-facekit"), &persona, &out)
            .unwrap();
        std::fs::read(out).unwrap()
    })
}

fn loaded() -> Loaded {
    skin::load(glb(), None).unwrap()
}

fn node(l: &Loaded, name: &str) -> usize {
    l.doc
        .nodes()
        .find(|n| n.name() == Some(name))
        .unwrap()
        .index()
}

/// Positions of the posed head mesh.
fn head(l: &Loaded, weights: &[(&str, f32)], local: &HashMap<usize, Mat4>) -> Vec<Vec3> {
    let w: HashMap<String, f32> = weights.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    skin::pose(l, &w, local)
        .into_iter()
        .filter(|p| {
            l.doc
                .meshes()
                .nth(p.mesh)
                .and_then(|m| m.name().map(str::to_string))
                == Some("head".into())
        })
        .flat_map(|p| p.positions)
        .collect()
}

#[test]
fn the_demo_avatar_is_a_life_size_twin_with_arkit_shapes_and_joints() {
    let report = twin_avatar::check::check(&loaded());
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(
        (1.78..1.86).contains(&report.height_m),
        "{} m",
        report.height_m
    );
    assert!(report.life_size);
    assert_eq!(report.arkit_found, 51);
    assert_eq!(report.arkit_missing, ["tongueOut"]);
    assert_eq!(report.joints.head.as_deref(), Some("head"));
    assert_eq!(report.joints.eye_left.as_deref(), Some("eyeLeft"));
    assert_eq!(report.joints.eye_right.as_deref(), Some("eyeRight"));
    assert!(
        (40_000..80_000).contains(&report.triangles),
        "{}",
        report.triangles
    );
}

#[test]
fn jaw_open_drops_the_chin_and_blink_closes_the_lid() {
    let l = loaded();
    let rest = head(&l, &[], &HashMap::new());
    let open = head(&l, &[("jawOpen", 1.0)], &HashMap::new());
    let moved: Vec<Vec3> = rest
        .iter()
        .zip(&open)
        .map(|(a, b)| *b - *a)
        .filter(|d| d.length() > 0.001)
        .collect();
    assert!(moved.len() > 1000, "{} vertices moved", moved.len());
    let mean = moved.iter().copied().sum::<Vec3>() / moved.len() as f32;
    assert!(mean.y < -0.003, "the jaw goes down: mean {mean}");
    let deepest = moved.iter().map(|d| d.y).fold(0.0f32, f32::min);
    assert!(deepest < -0.015, "the chin drops {deepest} m");

    let blink = head(&l, &[("eyeBlinkLeft", 1.0)], &HashMap::new());
    let lid: Vec<Vec3> = rest
        .iter()
        .zip(&blink)
        .map(|(a, b)| *b - *a)
        .filter(|d| d.length() > 0.001)
        .collect();
    assert!(lid.len() > 50);
    // The moving vertices are on the avatar's left (+x) and move down.
    let left_side = rest
        .iter()
        .zip(&blink)
        .filter(|(a, b)| (**b - **a).length() > 0.001)
        .all(|(a, _)| a.x > 0.0);
    assert!(left_side, "a left blink moves only the left eye");
    assert!(lid.iter().map(|d| d.y).sum::<f32>() < 0.0);
}

#[test]
fn turning_an_eye_node_moves_its_iris_toward_the_target() {
    let l = loaded();
    let eye = node(&l, "eyeLeft");
    let iris_material = l
        .doc
        .materials()
        .find(|m| m.name() == Some("iris"))
        .unwrap()
        .index()
        .unwrap();
    let iris_centre = |local: &HashMap<usize, Mat4>| -> Vec3 {
        let posed = skin::pose(&l, &HashMap::new(), local);
        let p = posed
            .iter()
            .find(|p| p.node == eye && p.material == Some(iris_material))
            .expect("the left eye has an iris");
        p.positions.iter().copied().sum::<Vec3>() / p.positions.len() as f32
    };
    let rest = iris_centre(&HashMap::new());
    let n = l.doc.nodes().nth(eye).unwrap();
    let t = Vec3::from(n.transform().decomposed().0);
    // Look 20 degrees to the avatar's left (+x, turning about +y).
    let turned =
        Mat4::from_translation(t) * Mat4::from_quat(Quat::from_rotation_y(20f32.to_radians()));
    let moved = iris_centre(&HashMap::from([(eye, turned)]));
    assert!(moved.x - rest.x > 0.001, "iris {rest} -> {moved}");
}

#[test]
fn skinning_bends_the_neck_and_moves_the_head_rigidly() {
    let l = loaded();
    let head_joint = node(&l, "head");
    let n = l.doc.nodes().nth(head_joint).unwrap();
    let t = Vec3::from(n.transform().decomposed().0);
    let nod =
        Mat4::from_translation(t) * Mat4::from_quat(Quat::from_rotation_x(15f32.to_radians()));
    let rest = head(&l, &[], &HashMap::new());
    let nodded = head(&l, &[], &HashMap::from([(head_joint, nod)]));
    let top = rest
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.y.total_cmp(&b.1.y))
        .unwrap()
        .0;
    let bottom = rest
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.y.total_cmp(&b.1.y))
        .unwrap()
        .0;
    // A nod forward about +x brings the top of the head forward (+z)...
    assert!(
        nodded[top].z - rest[top].z > 0.02,
        "{} -> {}",
        rest[top],
        nodded[top]
    );
    // ...while the bottom of the neck, bound to the neck joint, stays.
    assert!((nodded[bottom] - rest[bottom]).length() < 1e-4);
}

/// The glb with its JSON edited.
fn edited(edit: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    let bytes = glb();
    let json_len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let mut json: serde_json::Value = serde_json::from_slice(&bytes[20..20 + json_len]).unwrap();
    edit(&mut json);
    // The binary chunk's payload, after its 8-byte chunk header.
    let bin = &bytes[20 + json_len + 8..];
    twin_avatar::glb::container(&serde_json::to_vec(&json).unwrap(), bin)
}

#[test]
fn broken_files_get_clear_errors() {
    let bytes = glb();
    let err = |b: &[u8]| skin::load(b, None).err().expect("refused").to_string();

    let truncated = err(&bytes[..bytes.len() / 2]);
    assert!(truncated.contains("truncated"), "{truncated}");
    assert!(err(&bytes[..10]).contains("cut short"));
    assert!(err(b"hello").contains("not a glTF"));

    // The binary chunk gone.
    let json_len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let mut no_bin = bytes[..20 + json_len].to_vec();
    no_bin[8..12].copy_from_slice(&((20 + json_len) as u32).to_le_bytes());
    let e = err(&no_bin);
    assert!(e.contains("missing") || e.contains("buffer"), "{e}");

    let absurd = edited(|j| j["accessors"][0]["count"] = serde_json::json!(2_000_000_000u64));
    assert!(err(&absurd).contains("accessor 0"), "{}", err(&absurd));

    let empty = edited(|j| j["accessors"][0]["count"] = serde_json::json!(0));
    assert!(err(&empty).contains("no elements"), "{}", err(&empty));

    let past_end = edited(|j| j["bufferViews"][0]["byteOffset"] = serde_json::json!(1u64 << 31));
    assert!(
        err(&past_end).contains("buffer view 0"),
        "{}",
        err(&past_end)
    );

    let draco = edited(|j| {
        j["extensionsUsed"] = serde_json::json!(["KHR_draco_mesh_compression"]);
        j["extensionsRequired"] = serde_json::json!(["KHR_draco_mesh_compression"]);
    });
    match skin::load(&draco, None) {
        Err(AvatarError::UnsupportedExtension { extension, .. }) => {
            assert_eq!(extension, "KHR_draco_mesh_compression")
        }
        other => panic!("{:?}", other.err()),
    }

    let external = edited(|j| j["buffers"][0]["uri"] = serde_json::json!("missing.bin"));
    let e = skin::load(&external, Some(std::path::Path::new("/nonexistent")))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("missing.bin"), "{e}");
}

/// Where a face texture is sampled: the neutral face (centimetres) and its regions.
struct FaceRegions {
    model: twin_avatar::ict::IctModel,
    face: Vec<Vec3>,
    eye: Vec3,
    mouth: Vec3,
    cheek: Vec3,
}

impl FaceRegions {
    fn load() -> FaceRegions {
        use twin_avatar::ict::{EYEBALL_LEFT, IctModel};
        let model = IctModel::load(&models_dir().join("ict-facekit"), 0).unwrap();
        let face: Vec<Vec3> = model
            .neutral
            .positions
            .iter()
            .map(|p| Vec3::from(*p))
            .collect();
        let eye = EYEBALL_LEFT.map(|i| face[i as usize]).sum::<Vec3>() / EYEBALL_LEFT.len() as f32;
        let mesh = &model.neutral;
        let teeth: Vec<Vec3> = mesh
            .faces
            .iter()
            .filter(|f| mesh.materials[f.material] == "M_Teeth")
            .flat_map(|f| f.corners.iter().map(|&(v, _)| face[v as usize]))
            .collect();
        let mouth = teeth.iter().copied().sum::<Vec3>() / teeth.len() as f32;
        let cheek = eye + Vec3::new(eye.x.signum() * 0.4, -2.8, 0.0);
        FaceRegions {
            model,
            face,
            eye,
            mouth,
            cheek,
        }
    }

    fn forehead(&self, p: Vec3) -> bool {
        p.x.abs() < 2.0 && p.y > self.eye.y + 3.0 && p.y < self.eye.y + 5.0 && p.z > self.eye.z
    }

    fn lips(&self, p: Vec3) -> bool {
        p.x.abs() < 1.5 && (p.y - self.mouth.y).abs() < 0.4 && p.z > self.mouth.z + 0.5
    }

    fn cheek(&self, p: Vec3) -> bool {
        let c = self.cheek;
        glam::Vec2::new(p.x - c.x, p.y - c.y).length() < 1.0 && p.z > self.eye.z - 1.0
    }

    /// The texels (RGB, 0..1 as stored) of `image` under the face's vertices where `region` holds.
    fn sample(
        &self,
        image: &twin_avatar::texture::Rgba,
        name: &str,
        region: impl Fn(Vec3) -> bool,
    ) -> Vec<Vec3> {
        let mesh = &self.model.neutral;
        let mut texels = Vec::new();
        for f in mesh
            .faces
            .iter()
            .filter(|f| mesh.materials[f.material] == "M_Face")
        {
            for &(v, vt) in &f.corners {
                let (Some(vt), p) = (vt, self.face[v as usize]) else {
                    continue;
                };
                if !region(p) {
                    continue;
                }
                let [u, w] = mesh.uvs[vt as usize];
                let x = ((u * image.width as f32) as usize).min(image.width as usize - 1);
                let y = (((1.0 - w) * image.height as f32) as usize).min(image.height as usize - 1);
                let at = 4 * (y * image.width as usize + x);
                texels.push(
                    Vec3::new(
                        image.pixels[at] as f32,
                        image.pixels[at + 1] as f32,
                        image.pixels[at + 2] as f32,
                    ) / 255.0,
                );
            }
        }
        assert!(
            texels.len() > 10,
            "too few vertices in the {name}: {}",
            texels.len()
        );
        texels
    }
}

#[test]
fn a_face_without_photos_wears_an_invented_complexion() {
    let at = FaceRegions::load();
    let albedo = twin_avatar::complexion::invented(&at.model, &at.face);
    let image = twin_avatar::texture::decode_bytes(&albedo.png).unwrap();
    // The texture's mean colour (linear) where `region` holds, and its spread in green.
    let mean = |name: &str, region: &dyn Fn(Vec3) -> bool| -> (Vec3, f32) {
        let colours: Vec<Vec3> = at
            .sample(&image, name, region)
            .into_iter()
            .map(|c| c.powf(2.2))
            .collect();
        let m = colours.iter().copied().sum::<Vec3>() / colours.len() as f32;
        let spread = (colours.iter().map(|c| (c.y - m.y).powi(2)).sum::<f32>()
            / colours.len() as f32)
            .sqrt();
        (m, spread)
    };
    let (forehead, mottling) = mean("forehead", &|p| at.forehead(p));
    let (lips, _) = mean("lips", &|p| at.lips(p));
    let (cheek, _) = mean("cheek", &|p| at.cheek(p));
    let redness = |c: Vec3| c.x / c.y;
    let skin = Vec3::from(twin_avatar::complexion::SKIN);
    assert!(
        (forehead.y / skin.y - 1.0).abs() < 0.15,
        "the forehead keeps the skin tone: {forehead} vs {skin}"
    );
    assert!(
        redness(lips) > redness(forehead) * 1.2,
        "the lips are redder: {lips} vs {forehead}"
    );
    assert!(
        redness(cheek) > redness(forehead) * 1.05,
        "the cheeks are warmer: {cheek} vs {forehead}"
    );
    assert!(
        mottling > 0.002,
        "the skin is mottled, not flat: {mottling}"
    );
}

#[test]
fn the_skin_shines_where_it_is_oily_and_the_eyes_are_wet() {
    let at = FaceRegions::load();
    let png = twin_avatar::roughness::skin(&at.model, &at.face);
    let image = twin_avatar::texture::decode_bytes(&png).unwrap();
    let roughness = |name: &str, region: &dyn Fn(Vec3) -> bool| {
        let t = at.sample(&image, name, region);
        assert!(t.iter().all(|c| c.z == 0.0), "no metal in the skin");
        t.iter().map(|c| c.y).sum::<f32>() / t.len() as f32
    };
    let forehead = roughness("forehead", &|p| at.forehead(p));
    let lips = roughness("lips", &|p| at.lips(p));
    let cheek = roughness("cheek", &|p| at.cheek(p));
    assert!(
        forehead + 0.08 < cheek,
        "the T-zone is oilier: {forehead} vs {cheek}"
    );
    assert!(lips + 0.1 < cheek, "the lips are moist: {lips} vs {cheek}");

    let l = loaded();
    let material = |name: &str| l.doc.materials().find(|m| m.name() == Some(name)).unwrap();
    assert!(
        material("skin")
            .pbr_metallic_roughness()
            .metallic_roughness_texture()
            .is_some(),
        "the skin wears its roughness map"
    );
    for name in ["sclera", "iris", "pupil"] {
        let coat = material(name)
            .extension_value("KHR_materials_clearcoat")
            .cloned();
        let factor = coat.as_ref().and_then(|c| c["clearcoatFactor"].as_f64());
        assert_eq!(factor, Some(1.0), "the {name} has a wet coat: {coat:?}");
    }
    let pupil = material("pupil")
        .pbr_metallic_roughness()
        .base_color_factor();
    assert!(
        pupil[..3].iter().all(|&c| c < 0.05),
        "the pupil is dark: {pupil:?}"
    );
}

#[test]
fn the_hair_thins_out_across_its_hairline() {
    let l = loaded();
    let hair = l
        .doc
        .materials()
        .find(|m| m.name() == Some("hair"))
        .unwrap();
    assert_eq!(hair.alpha_mode(), gltf::material::AlphaMode::Mask);
    assert!(hair.pbr_metallic_roughness().base_color_texture().is_some());
    let mesh = l.doc.meshes().find(|m| m.name() == Some("hair")).unwrap();
    let prim = mesh.primitives().next().unwrap();
    let reader = prim.reader(|b| l.buffers.get(b.index()).map(Vec::as_slice));
    let u: Vec<f32> = reader
        .read_tex_coords(0)
        .expect("the hair has texture coordinates")
        .into_f32()
        .map(|uv| uv[0])
        .collect();
    // Full coverage sits at the last texel's centre, just under 1.
    let edge = u.iter().filter(|&&u| u < 0.99).count();
    assert!(
        edge > 50 && edge < u.len() / 2,
        "a band of the shell thins out, the rest is full: {edge} of {}",
        u.len()
    );
}

#[test]
fn the_makehuman_body_stands_on_the_floor_skinned_to_the_twins_joints() {
    use twin_avatar::body::j;
    use twin_avatar::makehuman::Shape;
    let dir = models_dir().join("makehuman-body");
    let body = twin_avatar::makehuman::load(&dir, Shape::Male).unwrap();
    assert!(
        body.positions.len() > 10_000,
        "{} vertices",
        body.positions.len()
    );
    let height = body.height();
    assert!(
        (1.55..1.85).contains(&height),
        "a person's height: {height} m"
    );
    let floor = body.positions.iter().map(|p| p.y).fold(f32::MAX, f32::min);
    assert!(floor.abs() < 1e-4, "the feet on the floor: {floor}");
    // The twin's frame: its left at +x, facing +z (the nose ahead of the back of the head).
    let hand = body.bone("hand_l").unwrap();
    assert!(hand.x > 0.3, "the left hand at +x: {hand}");
    let neck = body.bone("neck_01").unwrap();
    assert!(
        (neck.y / height - 0.86).abs() < 0.04,
        "the neck at a neck's height: {neck}"
    );
    let nose = body
        .positions
        .iter()
        .filter(|p| p.y > neck.y + 0.1 && p.x.abs() < 0.01)
        .fold(f32::MIN, |z, p| z.max(p.z));
    assert!(
        nose > neck.z + 0.08,
        "the face ahead of the neck: {nose} vs {neck}"
    );
    for (v, w) in body.weights.iter().enumerate() {
        let sum: f32 = w.iter().sum();
        assert!(
            (sum - 1.0).abs() < 1e-4,
            "vertex {v}'s weights sum to {sum}"
        );
    }
    // The vertices by the left knuckles move with the left wrist, those by the right knee with it.
    let nearest = |p: glam::Vec3| {
        (0..body.positions.len())
            .min_by(|&a, &b| {
                body.positions[a]
                    .distance(p)
                    .total_cmp(&body.positions[b].distance(p))
            })
            .unwrap()
    };
    let at_hand = nearest(body.bone("middle_01_l").unwrap());
    assert_eq!(
        body.joints[at_hand][0] as usize,
        j::WRIST_L,
        "{:?}",
        body.weights[at_hand]
    );
    let knee = body.bone("calf_r").unwrap();
    let at_knee = nearest(knee);
    let knee_joints = &body.joints[at_knee][..2];
    assert!(knee_joints.contains(&(j::KNEE_R as u8)), "{knee_joints:?}");
    // The shapes differ where bodies do: a man's shoulders are broader than a woman's.
    let female = twin_avatar::makehuman::load(&dir, Shape::Female).unwrap();
    let shoulders = |b: &twin_avatar::makehuman::Body| {
        b.bone("upperarm_l").unwrap().x - b.bone("upperarm_r").unwrap().x
    };
    assert!(
        shoulders(&body) > shoulders(&female) + 0.02,
        "{} vs {}",
        shoulders(&body),
        shoulders(&female)
    );
    let err = twin_avatar::makehuman::load(std::path::Path::new("/nonexistent"), Shape::Male)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("base.obj") && err.contains("cargo xtask setup"),
        "{err}"
    );
}

#[test]
fn the_twin_wears_the_makehuman_body_dressed_with_its_arms_at_its_sides() {
    let l = loaded();
    let posed = skin::pose(&l, &HashMap::new(), &HashMap::new());
    let mesh_of = |p: &skin::Posed| {
        p.material
            .and_then(|m| l.doc.materials().nth(m))
            .and_then(|m| m.name().map(str::to_string))
            .unwrap_or_default()
    };
    let part = |name: &str| -> Vec<Vec3> {
        posed
            .iter()
            .filter(|p| mesh_of(p) == name)
            .flat_map(|p| p.positions.clone())
            .collect()
    };
    let (shirt, trousers, hands, shoes) = (
        part("shirt"),
        part("trousers"),
        part("hands"),
        part("shoes"),
    );
    assert!(
        shirt.len() > 1500 && trousers.len() > 800,
        "MakeHuman's body, not lofted tubes: {} and {}",
        shirt.len(),
        trousers.len()
    );
    let top = |v: &[Vec3]| v.iter().map(|p| p.y).fold(f32::MIN, f32::max);
    let bottom = |v: &[Vec3]| v.iter().map(|p| p.y).fold(f32::MAX, f32::min);
    assert!(bottom(&shoes) < 0.02, "the shoes on the floor");
    assert!(
        top(&trousers) < bottom(&shirt) + 0.2,
        "the shirt over the trousers' top"
    );
    // The arms hang: the hands beside the thighs, not out in an A pose.
    let widest = hands.iter().map(|p| p.x.abs()).fold(0.0f32, f32::max);
    assert!(widest < 0.4, "hands at the sides: {widest} m out");
    assert!(
        top(&hands) < 1.1 && bottom(&hands) < 0.92,
        "hands hang by the thighs: {}..{} m",
        bottom(&hands),
        top(&hands)
    );
    // The scanned neck reaches down inside the collar: no gap between head and shirt.
    let collar_top = top(&shirt);
    let lowest_skin = bottom(&head(&l, &[], &HashMap::new()));
    assert!(
        lowest_skin < collar_top - 0.02,
        "the scanned neck reaches inside the collar: {lowest_skin} vs {collar_top}"
    );
}
