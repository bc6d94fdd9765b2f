//! Quick look at lip-sync accuracy while tuning: `cargo run --release -p twin-bench --example lipsync_eval`.
use twin_bench::lipsync::{EVAL_VOICES, evaluate, load_sentences};
use twin_bench::percentile;
use twin_lipsync::Group;

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sentences = load_sentences(&root.join("assets/speech/sentences.txt")).expect("sentences");
    let e = evaluate(&sentences, &EVAL_VOICES).expect("eval");
    for (name, s) in &e.per_voice {
        println!("{name}: {:.1}%", 100.0 * s.accuracy());
    }
    let s = &e.overall;
    println!(
        "overall {:.1}% over {} frames",
        100.0 * s.accuracy(),
        s.frames
    );
    println!("truth \\ predicted: {:?}", Group::ALL.map(|g| g.name()));
    for (g, row) in Group::ALL.iter().zip(&s.confusion) {
        let total: usize = row.iter().sum();
        println!(
            "{:>16} {:?} recall {:.0}%",
            g.name(),
            row,
            100.0 * row[Group::ALL.iter().position(|x| x == g).unwrap()] as f64
                / total.max(1) as f64
        );
    }
    let abs: Vec<f64> = s.closure_errors_ms.iter().map(|d| d.abs()).collect();
    let mean = s.closure_errors_ms.iter().sum::<f64>() / s.closure_errors_ms.len().max(1) as f64;
    println!(
        "closures found {} missed {}; |error| p50 {:.0} p90 {:.0} ms; mean offset {:.1} ms; RTF {:.4}",
        s.closure_errors_ms.len(),
        s.closures_missed,
        percentile(&abs, 50.0),
        percentile(&abs, 90.0),
        mean,
        e.analysis_seconds / e.audio_seconds
    );
}
