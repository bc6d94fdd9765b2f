//! Persona packs: the demo pack is complete, broken packs get line-precise errors, the server refuses them.

mod common;

use std::process::Command;
use twin_persona::{PersonaPack, SourceKind};

#[test]
fn the_demo_pack_is_complete() {
    let pack = PersonaPack::load(&common::demo_pack()).unwrap();
    let statements = pack
        .sources
        .iter()
        .filter(|s| s.kind == SourceKind::Statement)
        .count();
    let notes = pack
        .sources
        .iter()
        .filter(|s| s.kind == SourceKind::Strategy)
        .count();
    assert!(statements >= 40, "{statements} statements");
    assert!(notes >= 6, "{notes} strategy notes");
    assert!(pack.meta.disclosure.contains("AI twin"));
    for s in &pack.sources {
        if s.kind == SourceKind::Statement {
            assert!(
                s.url.as_deref().is_some_and(|u| u.starts_with("https://")),
                "{} has a source url",
                s.id
            );
        }
    }
}

#[test]
fn persona_check_reports_every_problem_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("pack");
    common::copy_dir(&common::demo_pack(), &pack);
    // A TOML syntax error on line 4 of one statement...
    let s1 = pack.join("statements/s001.md");
    let text = std::fs::read_to_string(&s1).unwrap();
    let broken: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 3 {
                "title = unquoted words".into()
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(&s1, broken.join("\n")).unwrap();
    // ...an id that does not match its file in another...
    let s2 = pack.join("statements/s002.md");
    std::fs::write(
        &s2,
        std::fs::read_to_string(&s2)
            .unwrap()
            .replacen("id = \"s002\"", "id = \"s999\"", 1),
    )
    .unwrap();
    // ...and a persona.toml without a disclosure.
    let meta = pack.join("persona.toml");
    let meta_text: String = std::fs::read_to_string(&meta)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("disclosure"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&meta, meta_text).unwrap();

    let errors = PersonaPack::load(&pack).unwrap_err();
    let text = errors.to_string();
    assert!(text.contains("s001.md:4:"), "{text}");
    assert!(
        text.contains("s002.md:2:") && text.contains("must match the file name"),
        "{text}"
    );
    assert!(
        text.contains("persona.toml") && text.contains("disclosure"),
        "{text}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_twin-server"))
        .args(["persona", "check"])
        .arg(&pack)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("s001.md:4:"), "{stdout}");

    let out = Command::new(env!("CARGO_BIN_EXE_twin-server"))
        .args(["persona", "check", "--json"])
        .arg(common::demo_pack())
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
}

#[test]
fn the_server_refuses_to_start_on_a_broken_pack_or_config() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("pack");
    common::copy_dir(&common::demo_pack(), &pack);
    std::fs::write(pack.join("strategy/n001.md"), "no front matter here").unwrap();
    let config = dir.path().join("server.toml");
    let text = common::config_text(&dir.path().join("twin.db"), common::EMBEDDED_LLM).replace(
        &common::demo_pack().display().to_string(),
        &pack.display().to_string(),
    );
    std::fs::write(&config, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_twin-server"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("n001.md:1:") && stderr.contains("front matter"),
        "{stderr}"
    );

    std::fs::write(&config, "[server]\nlisten = 7\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_twin-server"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("server.toml:2:"), "{stderr}");
}
