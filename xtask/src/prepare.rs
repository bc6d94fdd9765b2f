//! Steps that derive files from fetched ones, named by `prepare = "..."` in models/manifest.toml.

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

pub fn run(step: &str, dir: &Path, tree_sha256: Option<&str>) -> Result<()> {
    match step {
        "piper-for-sherpa" => piper_for_sherpa(dir),
        "moonshine-tokens" => moonshine_tokens(dir),
        "unpack-ict-facekit" => unpack_ict_facekit(
            dir,
            tree_sha256.context("unpack-ict-facekit needs the model's tree_sha256")?,
        ),
        other => bail!("unknown prepare step {other:?}"),
    }
}

const TREE_STAMP: &str = "tree-verified.txt";

/// Whether `dir` holds unpacked files verified against `tree` by an earlier run.
pub fn tree_verified(dir: &Path, tree: &str) -> bool {
    std::fs::read_to_string(dir.join(TREE_STAMP)).is_ok_and(|s| s.trim() == tree)
}

/// sha256 of the sorted "<sha256>  <path>" lines of every .obj under `dir/FaceXModel`, as `sha256sum` writes them.
fn tree_digest(dir: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let models = dir.join("FaceXModel");
    let mut names: Vec<String> = std::fs::read_dir(&models)
        .with_context(|| format!("cannot list {}", models.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".obj"))
        .collect();
    names.sort();
    let mut lines = String::new();
    for n in &names {
        let sum = crate::fetch::sha256_file(&models.join(n))?;
        lines.push_str(&format!("{sum}  FaceXModel/{n}\n"));
    }
    Ok(format!("{:x}", Sha256::digest(lines.as_bytes())))
}

/// Unpacks the ICT-FaceKit archive (the mirror's .tar.xz or upstream's .tar.gz: tar reads either), keeps the
/// model folder and the license, and verifies every OBJ against the manifest's tree checksum.
fn unpack_ict_facekit(dir: &Path, tree: &str) -> Result<()> {
    let archive = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains(".tar"))
        .context("no ICT-FaceKit archive was fetched")?;
    let scratch = dir.join("unpack.tmp");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    println!("  unpack   {}", archive.display());
    let status = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(&scratch)
        .status()
        .context("cannot run tar (Debian: tar, xz-utils)")?;
    if !status.success() {
        bail!("tar could not unpack {} ({status})", archive.display());
    }
    let top = std::fs::read_dir(&scratch)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.join("FaceXModel").is_dir())
        .context("the archive has no FaceXModel folder")?;
    let _ = std::fs::remove_dir_all(dir.join("FaceXModel"));
    std::fs::rename(top.join("FaceXModel"), dir.join("FaceXModel"))?;
    std::fs::copy(top.join("LICENSE"), dir.join("LICENSE"))
        .context("the archive has no LICENSE")?;
    std::fs::remove_dir_all(&scratch)?;
    let got = tree_digest(dir)?;
    if got != tree {
        bail!(
            "the unpacked ICT-FaceKit files do not match the manifest (tree sha256 {got}, expected {tree})"
        );
    }
    std::fs::write(dir.join(TREE_STAMP), tree)?;
    // The unpacked, verified files are what is used; the archive only costs disk.
    std::fs::remove_file(&archive)?;
    println!(
        "  verified {} (every OBJ)",
        dir.join("FaceXModel").display()
    );
    Ok(())
}

/// sherpa-onnx runs a Piper voice when the ONNX file carries metadata saying so and a tokens.txt maps every
/// phoneme to its id. Both come from Piper's own voice.json.
fn piper_for_sherpa(dir: &Path) -> Result<()> {
    let json_path = dir.join("voice.json");
    let text = std::fs::read_to_string(&json_path)
        .with_context(|| format!("cannot read {}", json_path.display()))?;
    let config: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", json_path.display()))?;
    let tokens = piper_tokens(&config)?;
    let metadata = piper_metadata(&config)?;
    let model_out = dir.join("model.onnx");
    let stamp = dir.join("prepared.txt");
    let fingerprint = format!(
        "piper-for-sherpa v1 {}\n",
        crate::fetch::sha256_file(&dir.join("piper.onnx"))?
    );
    if model_out.is_file()
        && dir.join("tokens.txt").is_file()
        && std::fs::read_to_string(&stamp).is_ok_and(|s| s == fingerprint)
    {
        println!("  ok       {} (prepared)", model_out.display());
        return Ok(());
    }
    std::fs::write(dir.join("tokens.txt"), tokens)?;
    with_metadata(&dir.join("piper.onnx"), &model_out, &metadata)?;
    std::fs::write(&stamp, fingerprint)?;
    println!(
        "  prepared {} and tokens.txt for sherpa-onnx",
        model_out.display()
    );
    Ok(())
}

/// sherpa-onnx's tokens.txt: each phoneme of the voice's `phoneme_id_map` and its id, a line each, by id.
fn piper_tokens(config: &serde_json::Value) -> Result<String> {
    let map = config["phoneme_id_map"]
        .as_object()
        .context("voice.json has no phoneme_id_map")?;
    let mut by_id: BTreeMap<i64, &str> = BTreeMap::new();
    for (symbol, ids) in map {
        let id = ids
            .get(0)
            .and_then(serde_json::Value::as_i64)
            .with_context(|| format!("phoneme {symbol:?} has no id"))?;
        by_id.insert(id, symbol);
    }
    let mut tokens = String::new();
    for (id, symbol) in &by_id {
        tokens.push_str(&format!("{symbol} {id}\n"));
    }
    Ok(tokens)
}

/// The metadata sherpa-onnx reads from a Piper voice's model, from its voice.json.
fn piper_metadata(config: &serde_json::Value) -> Result<[(&'static str, String); 7]> {
    let voice = config["espeak"]["voice"]
        .as_str()
        .context("voice.json has no espeak.voice")?;
    let rate = config["audio"]["sample_rate"]
        .as_u64()
        .context("voice.json has no audio.sample_rate")?;
    let speakers = config["num_speakers"].as_u64().unwrap_or(1);
    let language = config["language"]["name_english"]
        .as_str()
        .unwrap_or("English");
    Ok([
        ("model_type", "vits".to_string()),
        ("comment", "piper".to_string()),
        ("language", language.to_string()),
        ("voice", voice.to_string()),
        ("has_espeak", "1".to_string()),
        ("n_speakers", speakers.to_string()),
        ("sample_rate", rate.to_string()),
    ])
}

/// Writes `model` with `metadata` added to `out` (through a .part file, so a half-written model is never used).
fn with_metadata(model: &Path, out: &Path, metadata: &[(&str, String)]) -> Result<()> {
    // ONNX is a protobuf ModelProto; repeated fields may appear anywhere and accumulate, so appending
    // `metadata_props` entries (field 14) to the serialized model adds them without parsing the graph.
    let tmp = out.with_extension("onnx.part");
    std::fs::copy(model, &tmp)?;
    let mut file = std::fs::OpenOptions::new().append(true).open(&tmp)?;
    for (key, value) in metadata {
        let mut entry = Vec::new();
        length_delimited(&mut entry, 1, key.as_bytes());
        length_delimited(&mut entry, 2, value.as_bytes());
        let mut field = Vec::new();
        length_delimited(&mut field, 14, &entry);
        file.write_all(&field)?;
    }
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, out)?;
    Ok(())
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn length_delimited(out: &mut Vec<u8>, field: u64, data: &[u8]) {
    varint(out, (field << 3) | 2);
    varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_protobuf() {
        let mut v = Vec::new();
        varint(&mut v, 300);
        assert_eq!(v, [0xac, 0x02]);
        let mut f = Vec::new();
        length_delimited(&mut f, 14, b"ab");
        assert_eq!(f, [0x72, 2, b'a', b'b']);
    }
}

/// Moonshine's tokenizer.bin as sherpa-onnx's tokens.txt: each entry of the binary is a length (one byte, or
/// two when the first has its high bit set: seven bits, then the next byte's eight above them) and the token's
/// bytes; each line of tokens.txt is the base64 of a token's bytes and its id.
fn moonshine_tokens(dir: &Path) -> Result<()> {
    let data = std::fs::read(dir.join("tokenizer.bin")).context("no tokenizer.bin")?;
    let tokens = parse_moonshine_tokens(&data)?;
    let mut out = String::new();
    for (id, token) in tokens.iter().enumerate() {
        out.push_str(&base64(token));
        out.push(' ');
        out.push_str(&id.to_string());
        out.push('\n');
    }
    std::fs::write(dir.join("tokens.txt"), out)?;
    println!("  prepared tokens.txt ({} tokens)", tokens.len());
    Ok(())
}

fn parse_moonshine_tokens(data: &[u8]) -> Result<Vec<&[u8]>> {
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let mut len = usize::from(data[at]);
        at += 1;
        if len >= 128 {
            let high = *data.get(at).context("tokenizer.bin ends inside a length")?;
            len = (len & 0x7f) | (usize::from(high) << 7);
            at += 1;
        }
        let token = data
            .get(at..at + len)
            .context("tokenizer.bin ends inside a token")?;
        tokens.push(token);
        at += len;
    }
    Ok(tokens)
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod moonshine_tests {
    use super::*;

    #[test]
    fn tokens_are_read_with_one_or_two_length_bytes_and_written_as_base64() {
        let mut data = vec![3, b'<', b's', b'>', 0, 130, 1];
        data.extend(std::iter::repeat_n(b'a', 130));
        let tokens = parse_moonshine_tokens(&data).unwrap();
        assert_eq!(tokens.len(), 3);
        assert_eq!(tokens[0], b"<s>");
        assert!(tokens[1].is_empty());
        assert_eq!(tokens[2].len(), 130);
        assert!(parse_moonshine_tokens(&[5, b'a']).is_err());
        assert_eq!(base64(b"<s>"), "PHM+");
        assert_eq!(base64("\u{2581}t".as_bytes()), "4paBdA==");
        assert_eq!(base64(b""), "");
    }
}
