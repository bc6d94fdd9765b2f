//! Issue 19's voice to voice: spoken questions into `twin talk` (standard input as a live microphone, 20 ms
//! at a time on the wall clock) against a real twin-server on the embedded defaults, from the true end of
//! each question's speech to the first audio of the answer reaching the client, with its breakdown: the
//! listener's end of turn, the link, and the server's retrieval, first checked sentence and first voice chunk
//! (per question, from the server's `/metrics` sums before and after it).

use crate::percentile;
use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const REAL: &str = "real recordings";

/// One spoken question: where it comes from, and its 16 kHz audio, trimmed to the speech.
pub struct Question {
    pub source: String,
    pub audio: Vec<f32>,
}

/// What one question measured, in milliseconds.
#[derive(Default, Clone)]
struct Timing {
    /// Real speech (a recording of a person), not synthetic.
    real: bool,
    voice_to_voice: f64,
    endpoint: f64,
    link: f64,
    retrieval: f64,
    first_sentence: f64,
    first_chunk: f64,
}

/// The server's latency sums (`twin_*_seconds_sum`), scraped from `/metrics`.
fn sums(addr: &str, token: &str) -> Result<[f64; 4]> {
    let text = crate::metrics(addr, token)?;
    let sum = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}_sum ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(f64::NAN)
    };
    Ok([
        sum("twin_retrieval_seconds"),
        sum("twin_first_sentence_seconds"),
        sum("twin_first_audio_seconds"),
        sum("twin_turn_to_audio_seconds"),
    ])
}

/// Lines of `twin talk --json`, each with the moment it was read, and the last few passed over (for errors).
struct Lines {
    from: mpsc::Receiver<(Instant, serde_json::Value)>,
    skipped: std::collections::VecDeque<serde_json::Value>,
}

impl Lines {
    /// Waits for a line `pick` accepts, at most `within`.
    fn wait_for(
        &mut self,
        within: Duration,
        pick: impl Fn(&serde_json::Value) -> bool,
    ) -> Result<(Instant, serde_json::Value)> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok((at, line)) = self.from.recv_timeout(left) else {
                bail!("not in time; last lines: {:?}", self.skipped);
            };
            if pick(&line) {
                return Ok((at, line));
            }
            if self.skipped.len() == 12 {
                self.skipped.pop_front();
            }
            self.skipped.push_back(line);
        }
    }
}

/// Stops `twin talk` however the run ends.
struct Talking(std::process::Child);

impl Drop for Talking {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// After a reply's `audio_end`, the time its speech still plays at the client (at least 16 kHz: an upper
/// bound), so that the next question does not cut in.
fn playing(audio_end: &serde_json::Value) -> Duration {
    let samples = audio_end["samples"].as_u64().unwrap_or(0);
    Duration::from_secs_f64(samples as f64 / 16_000.0 + 1.0)
}

/// The microphone: silence, or the next question's audio, written in real time. Sends back the moment each
/// question's last sample was written.
fn microphone(
    mut stdin: std::process::ChildStdin,
    questions: mpsc::Receiver<Vec<f32>>,
    ended: mpsc::Sender<Instant>,
) {
    let start = Instant::now();
    let mut written = 0u64;
    let mut write = |chunk: &[f32]| -> bool {
        let bytes: Vec<u8> = chunk
            .iter()
            .flat_map(|&x| ((x.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes())
            .collect();
        written += 1;
        let due = Duration::from_millis(20 * written);
        if let Some(left) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(left);
        }
        stdin.write_all(&bytes).is_ok()
    };
    let silence = [0.0f32; 320];
    loop {
        match questions.try_recv() {
            Ok(audio) => {
                for chunk in audio.chunks(320) {
                    if !write(chunk) {
                        return;
                    }
                }
                if ended.send(Instant::now()).is_err() {
                    return;
                }
            }
            Err(mpsc::TryRecvError::Disconnected) => return,
            Err(mpsc::TryRecvError::Empty) => {
                if !write(&silence) {
                    return;
                }
            }
        }
    }
}

/// Asks every question in one `twin talk` session, each after the previous answer has been heard.
fn ask_all(
    twin_bin: &Path,
    addr: &str,
    token: &str,
    questions: &[Question],
) -> Result<Vec<Timing>> {
    let mut child = Talking(
        Command::new(twin_bin)
            .args(["talk", "--json", "--no-speaker", "--input", "-"])
            .args(["--recognizer", "moonshine", "--token", token])
            .arg("--url")
            .arg(format!("ws://{addr}/v1/session"))
            .args(["--seconds", "1800"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start twin talk")?,
    );
    let stdout = child.0.stdout.take().context("no stdout")?;
    let (line_tx, from) = mpsc::channel();
    let mut lines = Lines {
        from,
        skipped: Default::default(),
    };
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line)
                && line_tx.send((Instant::now(), v)).is_err()
            {
                return;
            }
        }
    });
    let (say, heard) = mpsc::channel();
    let (ended_tx, ended) = mpsc::channel();
    let stdin = child.0.stdin.take().context("no stdin")?;
    std::thread::spawn(move || microphone(stdin, heard, ended_tx));
    // The greeting first, heard to its end.
    let (_, greeting) = lines.wait_for(Duration::from_secs(120), |l| l["type"] == "audio_end")?;
    std::thread::sleep(playing(&greeting));
    let mut out = Vec::new();
    for q in questions {
        let before = sums(addr, token)?;
        say.send(q.audio.clone())?;
        let spoken = ended.recv_timeout(Duration::from_secs(60))?;
        let (heard_at, turn) = lines
            .wait_for(Duration::from_secs(30), |l| l["cue"] == "turn")
            .with_context(|| format!("{}: no turn", q.source))?;
        let turn_id = turn["turn_id"].as_str().unwrap_or_default().to_string();
        let (answer_at, _) = lines
            .wait_for(Duration::from_secs(60), |l| {
                l["event"] == "answer_audio" && l["turn_id"] == turn_id.as_str()
            })
            .with_context(|| format!("{}: no answer", q.source))?;
        let (_, end) = lines.wait_for(Duration::from_secs(120), |l| l["type"] == "audio_end")?;
        let after = sums(addr, token)?;
        let d = |i: usize| (after[i] - before[i]) * 1000.0;
        let voice_to_voice = ms(answer_at - spoken);
        let endpoint = ms(heard_at.saturating_duration_since(spoken));
        out.push(Timing {
            real: q.source == REAL,
            voice_to_voice,
            endpoint,
            link: voice_to_voice - endpoint - d(3),
            retrieval: d(0),
            first_sentence: d(1),
            first_chunk: d(2),
        });
        std::thread::sleep(playing(&end));
    }
    drop(say);
    drop(child);
    Ok(out)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The section: `questions` spoken into `twin talk` against the server at `addr` (which must serve
/// `/metrics` to `token`).
pub fn section(
    md: &mut String,
    twin_bin: &Path,
    addr: &str,
    token: &str,
    questions: &[Question],
) -> Result<()> {
    eprintln!("voice to voice…");
    if questions.len() < 20 {
        bail!(
            "voice to voice needs 20 questions or more, has {}",
            questions.len()
        );
    }
    let all = ask_all(twin_bin, addr, token, questions)?;
    let of = |pick: &dyn Fn(&Timing) -> bool, f: fn(&Timing) -> f64| -> (f64, f64) {
        let v: Vec<f64> = all.iter().filter(|t| pick(t)).map(f).collect();
        (percentile(&v, 50.0), percentile(&v, 95.0))
    };
    let column = |f: fn(&Timing) -> f64| of(&|_| true, f);
    let rows = [
        (
            "end of turn: the question's last sample → the turn at the client (listener)",
            column(|t| t.endpoint),
        ),
        (
            "link: the turn sent → the answer's first audio back, less the server's part",
            column(|t| t.link),
        ),
        ("server: retrieval", column(|t| t.retrieval)),
        (
            "server: the turn → the first checked sentence (retrieval included)",
            column(|t| t.first_sentence),
        ),
        (
            "server: that sentence → its first voice chunk",
            column(|t| t.first_chunk),
        ),
        (
            "**voice to voice**: the question's last sample → the answer's first audio at the client",
            column(|t| t.voice_to_voice),
        ),
        (
            "voice to voice, synthetic speech only",
            of(&|t| !t.real, |t| t.voice_to_voice),
        ),
        (
            "voice to voice, real speech only",
            of(&|t| t.real, |t| t.voice_to_voice),
        ),
    ];
    let table: Vec<String> = rows
        .iter()
        .map(|(name, (p50, p95))| format!("| {name} | {p50:.1} ms | {p95:.1} ms |"))
        .collect();
    let mut sources: Vec<String> = Vec::new();
    for q in questions {
        if !sources.iter().any(|s| s.ends_with(&q.source)) {
            let n = questions.iter().filter(|o| o.source == q.source).count();
            sources.push(format!("{n} {}", q.source));
        }
    }
    let (p50, _) = column(|t| t.voice_to_voice);
    writeln!(
        md,
        "## Voice to voice (`twin talk` against twin-server on the embedded defaults, loopback)\n\n\
         {} spoken questions ({}), each fed to `twin talk --input -` as a live microphone (20 ms at a time on the wall clock, \
         Moonshine tiny, Smart Turn), one session, each question after the previous answer has played. Timed at the client \
         from the moment the question's last sample is written to the moment the answer's first audio is read; the server's \
         parts from its `/metrics` sums before and after each question. The device's own audio output latency comes on top.\n\n\
         | part | p50 | p95 |\n|---|---|---|\n{}\n\n\
         Target: voice to voice p50 at most 700 ms on this 2-core machine: **{}** ({p50:.0} ms).\n",
        all.len(),
        sources.join(", "),
        table.join("\n"),
        if p50 <= 700.0 { "met" } else { "not met" },
    )?;
    Ok(())
}

/// The questions: `texts` said by Piper and espeak-ng in turn (synthetic), then the real recordings.
pub fn questions(models: &Path, texts: &[String]) -> Result<Vec<Question>> {
    use crate::spoken::{SILENCE_FLOOR, at_16k, trimmed};
    use twin_voice::Synthesizer;
    let piper = twin_voice::PiperVoice::load(&models.join("piper-en_US-joe-medium"), 1.0, 1)?;
    let espeak = twin_voice::espeak::EspeakVoice::new("en-us", 1.0)?;
    let voices: [(&str, &dyn Synthesizer); 2] = [("Piper", &piper), ("espeak-ng", &espeak)];
    let mut out = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let (name, voice) = voices[i % 2];
        out.push(Question {
            source: format!("{name} (synthetic)"),
            audio: trimmed(&at_16k(voice, text)?, SILENCE_FLOOR).to_vec(),
        });
    }
    for r in twin_testkit::corpus::real_speech(models).map_err(anyhow::Error::msg)? {
        out.push(Question {
            source: REAL.into(),
            audio: trimmed(&twin_listen::audio::read_wav(&r.wav)?, SILENCE_FLOOR).to_vec(),
        });
    }
    Ok(out)
}
