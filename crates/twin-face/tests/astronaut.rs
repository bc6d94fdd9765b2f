//! The face models on a real photo (scikit-image's astronaut.png, a public-domain NASA portrait; only ever
//! scored here): one face, its landmarks where the detector's keypoints say the eyes, nose and mouth are.

use twin_face::detect::{LEFT_EYE, MOUTH, NOSE_TIP, RIGHT_EYE};
use twin_face::landmarks::index;
use twin_face::{FaceError, FaceReader, Photo};

mod common;
use common::models;

fn reader() -> FaceReader {
    FaceReader::load(&twin_face::models_dir(&models()))
        .expect("face models: run `cargo xtask setup`")
}

fn astronaut() -> Photo {
    Photo::load(&models().join("photo-astronaut/astronaut.png"))
        .expect("astronaut.png: run `cargo xtask setup`")
}

#[test]
fn the_astronaut_has_one_face_and_its_landmarks_agree_with_the_detector() {
    let reader = reader();
    let photo = astronaut();
    let faces = reader.detector().detect(&photo).unwrap();
    assert_eq!(faces.len(), 1, "{faces:?}");
    let (face, marks) = reader.read(&photo, "astronaut.png").unwrap();
    if let Some(path) = std::env::var_os("TWIN_FACE_PICTURE") {
        let mut picture = photo.clone();
        for p in &marks.points {
            picture.mark(p.truncate(), [255, 40, 40], 0);
        }
        for k in face.keypoints {
            picture.mark(k, [40, 255, 40], 2);
        }
        picture.save_png(std::path::Path::new(&path)).unwrap();
    }
    assert!(face.score > 0.9, "{face:?}");
    assert!(marks.presence > 0.9, "{}", marks.presence);
    assert_eq!(marks.points.len(), 468);
    let iod = marks.inter_ocular();
    // A face 100-250 px wide in a 512 px photo: eyes some 40-110 px apart.
    assert!((40.0..110.0).contains(&iod), "inter-ocular {iod}");
    let (right, left) = marks.eye_centres();
    let near = |a: glam::Vec2, b: glam::Vec2, what: &str, tolerance: f32| {
        let d = a.distance(b) / iod;
        assert!(
            d < tolerance,
            "{what}: {a} vs {b}, {d:.3} of the inter-ocular distance"
        );
    };
    // The detector's keypoints are coarse (a 128-pixel view): the mesh agrees with them within a fifth of
    // the eye distance, the eyes closer.
    near(right, face.keypoints[RIGHT_EYE], "right eye", 0.12);
    near(left, face.keypoints[LEFT_EYE], "left eye", 0.12);
    near(
        marks.point(index::NOSE_TIP),
        face.keypoints[NOSE_TIP],
        "nose tip",
        0.2,
    );
    let mouth = (marks.point(index::MOUTH_RIGHT) + marks.point(index::MOUTH_LEFT)) / 2.0;
    near(mouth, face.keypoints[MOUTH], "mouth", 0.2);
    // Upright: the right eye left of the left eye, the chin below the mouth below the nose.
    assert!(right.x < left.x);
    assert!(marks.point(index::NOSE_TIP).y < mouth.y && mouth.y < marks.point(index::CHIN).y);
}

#[test]
fn a_photo_without_a_face_is_a_clear_error() {
    let err = reader()
        .read(&Photo::filled(320, 240, [128, 128, 128]), "wall.png")
        .unwrap_err();
    assert!(matches!(err, FaceError::NoFace(_)), "{err}");
    assert!(err.to_string().contains("wall.png"), "{err}");
}

#[test]
fn a_missing_model_names_the_setup_step() {
    let err = FaceReader::load(std::path::Path::new("/nonexistent"))
        .err()
        .unwrap();
    assert!(err.to_string().contains("cargo xtask setup"), "{err}");
}
