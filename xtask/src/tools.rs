//! Building the tools models/manifest.toml lists (llama.cpp's llama-server, Monado) from a source archive, once,
//! into the cache; the tests and benchmarks run them.

use crate::fetch::{Context, Tool, curl, sdist_url, sha256_file};
use anyhow::{Context as _, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

impl Context {
    /// Fetches a tool's source archive and builds it once into the cache; returns the binary's path.
    pub fn build_tool(&self, tool: &Tool) -> Result<PathBuf> {
        let (name, version) = match (&tool.sdist, &tool.deb_source) {
            (Some(spec), None) => spec
                .split_once("==")
                .context("sdist must be name==version")?,
            (None, Some(spec)) => spec
                .split_once('=')
                .context("deb_source must be name=version")?,
            _ => bail!("{}: name exactly one of sdist and deb_source", tool.name),
        };
        let install = self.cache.join(format!("{}-{version}", tool.name));
        let bin = install.join(
            tool.product
                .clone()
                .unwrap_or_else(|| format!("bin/{}", tool.name)),
        );
        if bin.is_file() {
            println!("  ok       {} (cached)", bin.display());
            return Ok(bin);
        }
        let (file, archive) = self.tool_archive(tool, name, version)?;
        let got = sha256_file(&archive)?;
        if got != tool.archive_sha256 {
            bail!(
                "{}: checksum mismatch for {file}: expected {}, got {got}",
                tool.name,
                tool.archive_sha256
            );
        }
        let src_root = self.cache.join("src");
        std::fs::create_dir_all(&src_root)?;
        let src = src_root.join(&tool.source_dir);
        if !src.is_dir() {
            println!("  unpack   {file}");
            // gzip or xz, as tar tells from the file.
            let status = Command::new("tar")
                .arg("xf")
                .arg(&archive)
                .arg("-C")
                .arg(&src_root)
                .status()?;
            if !status.success() {
                bail!("cannot unpack {}", archive.display());
            }
        }
        println!(
            "  build    {} (once, several minutes on 2 cores; cached in {})",
            tool.name,
            install.display()
        );
        let status = Command::new("bash")
            .arg(self.root.join(&tool.build))
            .arg(&src)
            .arg(&install)
            .status()?;
        if !status.success() || !bin.is_file() {
            bail!(
                "building {} failed; see {}.build.log",
                tool.name,
                install.display()
            );
        }
        Ok(bin)
    }

    /// A tool's source archive in the cache (a PyPI sdist, or Debian source through `apt-get source`), fetched
    /// unless it is there and checks out; returns its file name and path.
    fn tool_archive(&self, tool: &Tool, name: &str, version: &str) -> Result<(String, PathBuf)> {
        Ok(if tool.sdist.is_some() {
            let file = format!("{}-{version}.tar.gz", name.replace('-', "_"));
            let archive = self.cache.join("pypi").join(&file);
            std::fs::create_dir_all(archive.parent().expect("has parent"))?;
            if !(archive.is_file() && sha256_file(&archive)? == tool.archive_sha256) {
                let url = sdist_url(name, &file)?;
                println!("  download {url}");
                curl(&url, &archive)?;
            }
            (file, archive)
        } else {
            let file = tool
                .archive
                .clone()
                .with_context(|| format!("{}: a deb_source needs archive", tool.name))?;
            let dir = self.cache.join("deb-src");
            let archive = dir.join(&file);
            if !(archive.is_file() && sha256_file(&archive)? == tool.archive_sha256) {
                let suite = tool.suite.as_deref().unwrap_or("stable");
                self.apt_source(suite, name, version, &dir)?;
            }
            (file, archive)
        })
    }

    /// Downloads a Debian source package's upstream tarball from another suite into `dir`, through an apt
    /// configuration of its own (its lists and cache under the project cache; the system's sources, lists
    /// and cache untouched).
    fn apt_source(&self, suite: &str, name: &str, version: &str, dir: &Path) -> Result<()> {
        let state = self.cache.join(format!("apt-{suite}"));
        for d in ["lists/partial", "cache/archives/partial", "sourceparts"] {
            std::fs::create_dir_all(state.join(d))?;
        }
        std::fs::create_dir_all(dir)?;
        let list = state.join("sources.list");
        std::fs::write(
            &list,
            format!(
                "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian {suite} main\n"
            ),
        )?;
        let options = [
            format!("Dir::Etc::sourcelist={}", list.display()),
            format!(
                "Dir::Etc::sourceparts={}",
                state.join("sourceparts").display()
            ),
            format!("Dir::State::Lists={}", state.join("lists").display()),
            format!("Dir::Cache={}", state.join("cache").display()),
            "APT::Sandbox::User=root".to_string(),
        ];
        let apt = |args: &[&str]| -> Result<()> {
            let mut c = Command::new("apt-get");
            for o in &options {
                c.arg("-o").arg(o);
            }
            let status = c
                .args(args)
                .current_dir(dir)
                .status()
                .context("cannot run apt-get")?;
            if !status.success() {
                bail!("apt-get {} failed", args.join(" "));
            }
            Ok(())
        };
        println!("  download {name}={version} source from Debian {suite}");
        apt(&["-q", "update"])?;
        // Only the upstream tarball: the mirror no longer serves this revision's .dsc.
        apt(&[
            "source",
            "--download-only",
            "--tar-only",
            &format!("{name}={version}"),
        ])
    }
}
