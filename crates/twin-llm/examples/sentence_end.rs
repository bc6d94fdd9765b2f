//! What the end of turn's transcript judge makes of each line of standard input: the probability that the
//! sentence ends there, and how long it took. `cargo run -p twin-llm --example sentence_end -- MODEL.gguf`

use std::io::BufRead;
use std::time::Instant;
use twin_llm::sentence_end::SentenceEnd;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model = std::env::args()
        .nth(1)
        .ok_or("usage: sentence_end MODEL.gguf < lines")?;
    let judge = SentenceEnd::load(std::path::Path::new(&model), 1)?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let started = Instant::now();
        let p = judge.probability(&line)?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        println!("{p:.3}\t{ms:.1} ms\t{line}");
    }
    Ok(())
}
