//! `from_photos` on a copy of the demo pack and the astronaut photo (public domain; only ever scored: the
//! copy is thrown away, never given a voice or words).

use std::path::{Path, PathBuf};
use twin_face::likeness::{self, LikenessError, Request};

mod common;
use common::models;

fn pack_copy(extra: &str) -> tempfile::TempDir {
    common::pack_copy("# kept\n", extra)
}

fn request<'a>(
    pack: &'a Path,
    photos: &'a [PathBuf],
    out: &'a Path,
    models: &'a Path,
) -> Request<'a> {
    Request {
        photos,
        pack,
        models,
        avatar_out: out,
    }
}

#[test]
fn a_likeness_is_refused_without_recorded_consent() {
    let pack = pack_copy("");
    let photos = [models().join("photo-astronaut/astronaut.png")];
    let out = pack.path().join("out.glb");
    let models = models();
    let err = likeness::from_photos(&request(pack.path(), &photos, &out, &models)).unwrap_err();
    assert!(matches!(err, LikenessError::NoConsent(_)), "{err}");
    assert!(err.to_string().contains("[likeness] consent"), "{err}");
    assert!(!out.exists() && !pack.path().join("avatar/fit.json").exists());
}

#[test]
fn photos_give_the_pack_an_identity_a_fit_report_and_a_rebuilt_avatar() {
    let pack = pack_copy(
        "\n[likeness]\nconsent = \"test only: a public-domain photo, scored and thrown away\"\n",
    );
    let photos = [models().join("photo-astronaut/astronaut.png")];
    let out = pack.path().join("out.glb");
    let models = models();
    let report = likeness::from_photos(&request(pack.path(), &photos, &out, &models)).unwrap();
    assert_eq!(report.identity.len(), likeness::IDENTITY_MODES);
    assert!(
        report.photos[0].landmark_error < 0.04,
        "{:?}",
        report.photos
    );
    println!("texture {:?}", report.texture);
    if let Some(path) = std::env::var_os("TWIN_FACE_ALBEDO") {
        std::fs::copy(pack.path().join("avatar/albedo.png"), path).unwrap();
    }
    assert!(report.texture.face_coverage >= 0.75, "{:?}", report.texture);
    assert!(report.texture.seen <= report.texture.coverage);
    let albedo = twin_face::Photo::load(&pack.path().join("avatar/albedo.png")).unwrap();
    assert_eq!(albedo.width, likeness::TEXTURE_SIZE);
    let toml = std::fs::read_to_string(pack.path().join("persona.toml")).unwrap();
    assert!(toml.starts_with("# kept\n"), "comments stay");
    let meta: toml::Table = toml::from_str(&toml).unwrap();
    let identity = meta["avatar"]["identity"].as_array().unwrap();
    // The iris (the darker half of the eye opening) darker than the hair above the forehead, the hair warm.
    let colour = |key: &str| {
        let hex = meta["avatar"][key]
            .as_str()
            .unwrap()
            .trim_start_matches('#')
            .to_string();
        let c: Vec<u8> = (0..3)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        c
    };
    let (iris, hair) = (colour("iris"), colour("hair"));
    println!("iris {iris:?}, hair {hair:?}");
    let sum = |c: &[u8]| c.iter().map(|&v| u32::from(v)).sum::<u32>();
    assert!(sum(&iris) < sum(&hair), "iris {iris:?} hair {hair:?}");
    assert!(hair[0] > hair[2], "warm hair {hair:?}");
    assert_eq!(identity.len(), likeness::IDENTITY_MODES);
    let fit: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(pack.path().join("avatar/fit.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        fit["photos"][0]["landmark_error"].as_f64().unwrap() as f32,
        report.photos[0].landmark_error
    );
    assert!(
        std::fs::metadata(&out).unwrap().len() > 100_000,
        "the avatar is rebuilt"
    );
}

#[test]
fn a_photo_without_a_face_is_named() {
    let pack = pack_copy("\n[likeness]\nconsent = \"test\"\n");
    let blank = pack.path().join("wall.png");
    twin_face::Photo::filled(64, 64, [120, 120, 120])
        .save_png(&blank)
        .unwrap();
    let photos = [blank];
    let out = pack.path().join("out.glb");
    let models = models();
    let err = likeness::from_photos(&request(pack.path(), &photos, &out, &models)).unwrap_err();
    assert!(
        err.to_string().contains("no face found in") && err.to_string().contains("wall.png"),
        "{err}"
    );
}
