//! The fitted likeness drawn by the real renderer (lavapipe) from the camera fitted to astronaut.png (a
//! public-domain NASA portrait, only ever scored), then read by the same Face Mesh: its landmarks must land
//! where the photo's are, and the skin's colour on the cheeks and forehead must match the photo's. Writes a
//! side-by-side picture (photo, render from the photo's camera, render turned 35°) to
//! `target/likeness/side-by-side.png` for a person to look at.

use twin_bench::likeness::{render_likeness, score_render};
use twin_bench::{models_dir, root};
use twin_face::Photo;
use twin_face::likeness::{self, Request};

/// Pictures of one height side by side.
fn side_by_side(pictures: &[&Photo]) -> Photo {
    let (w, h) = (pictures[0].width as usize, pictures[0].height as usize);
    let mut out = Photo::filled((pictures.len() * w) as u32, h as u32, [0; 3]);
    for (k, image) in pictures.iter().enumerate() {
        for y in 0..h {
            let row = &image.rgb[3 * y * w..3 * (y + 1) * w];
            let at = 3 * (y * pictures.len() * w + k * w);
            out.rgb[at..at + 3 * w].copy_from_slice(row);
        }
    }
    out
}

#[test]
fn the_rendered_likeness_reads_as_the_photo() {
    let dir = twin_bench::likeness::consenting_pack(
        &root().join("assets/personas/owen-marsh"),
        "test: a public-domain photo, scored and thrown away",
    )
    .unwrap();
    let photo_path = models_dir().join("photo-astronaut/astronaut.png");
    let out = dir.path().join("avatar.glb");
    let models = models_dir();
    let report = likeness::from_photos(&Request {
        photos: std::slice::from_ref(&photo_path),
        pack: dir.path(),
        models: &models,
        avatar_out: &out,
    })
    .unwrap();
    let photo = Photo::load(&photo_path).unwrap();
    let renders = render_likeness(&report, 0, &out, &[0.0, 35f32.to_radians()]).unwrap();

    let side = root().join("target/likeness/side-by-side.png");
    std::fs::create_dir_all(side.parent().unwrap()).unwrap();
    side_by_side(&[&photo, &renders[0], &renders[1]])
        .save_png(&side)
        .unwrap();

    let score = score_render(&models, &photo, &renders[0]).unwrap();
    println!(
        "render vs photo: inner landmarks {:.1}% of the eye distance; skin CIEDE2000 {:?}",
        100.0 * score.landmark_error,
        score.skin
    );
    assert!(score.landmark_error < 0.05, "{}", score.landmark_error);
    assert!(score.skin.mean <= 8.0, "{:?}", score.skin);
}
