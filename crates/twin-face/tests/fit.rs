//! The ICT face model fitted to the astronaut's landmarks (scikit-image's astronaut.png, a public-domain NASA
//! portrait; only ever scored here).

use twin_face::fit::{self, Basis};
use twin_face::{FaceReader, Photo, dlib68};

mod common;
use common::models;

fn ict_basis(identities: usize) -> Basis {
    twin_face::likeness::ict_basis(&models().join("ict-facekit"), identities)
        .expect("the ICT face model: run `cargo xtask setup`")
}

#[test]
fn the_face_model_fits_the_astronaut_within_four_percent_of_her_eye_distance() {
    let reader = FaceReader::load(&twin_face::models_dir(&models())).unwrap();
    let photo = Photo::load(&models().join("photo-astronaut/astronaut.png")).unwrap();
    let (_, marks) = reader.read(&photo, "astronaut.png").unwrap();
    let points = dlib68::points(&marks);
    let basis = ict_basis(60);
    let fitted = fit::fit(&basis, std::slice::from_ref(&points)).unwrap();
    let view = &fitted.views[0];
    println!(
        "inner landmark error {:.4} of the inter-ocular distance; identity {:?}",
        view.inner_error,
        &fitted.identity[..8]
    );
    if let Some(path) = std::env::var_os("TWIN_FACE_PICTURE") {
        let mut picture = photo.clone();
        for (p, q) in points.iter().zip(&view.projected) {
            picture.mark(*p, [40, 255, 40], 1);
            picture.mark(*q, [255, 40, 40], 1);
        }
        picture.save_png(std::path::Path::new(&path)).unwrap();
    }
    assert!(view.inner_error < 0.04, "{}", view.inner_error);
    // A plausible face: no identity mode pushed past three standard deviations.
    assert!(
        fitted.identity.iter().all(|c| c.abs() < 3.0),
        "{:?}",
        fitted.identity
    );
    // Without the identity the same fit is worse: the identity carries the likeness.
    let neutral = Basis {
        identity: vec![],
        ..basis.clone()
    };
    let plain = fit::fit(&neutral, std::slice::from_ref(&points)).unwrap();
    assert!(
        plain.views[0].inner_error > view.inner_error,
        "{} vs {}",
        plain.views[0].inner_error,
        view.inner_error
    );
}
