//! TLS for Twin's links (rustls, ring): the server's certificate and key, the clients' trust (the system's
//! store plus a CA file given with `--ca` or `TWIN_CA`), and the demo's local CA.
//!
//! The demo CA's key is thrown away once it has signed the server's certificate: nothing on the machine can
//! issue another certificate that clients trusting `ca.pem` would accept.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The environment variable naming a CA file clients trust besides the system's store.
pub const CA_ENV: &str = "TWIN_CA";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: no PEM certificate in it")]
    NoCertificate { path: PathBuf },
    #[error("{path}: no PEM private key in it (PKCS#8, PKCS#1 or SEC1)")]
    NoKey { path: PathBuf },
    #[error("{path}: {message}")]
    Bad { path: PathBuf, message: String },
    #[error("the certificate {cert} and the key {key} do not go together: {message}")]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        message: String,
    },
    #[error(
        "no certificate to trust: the system store is empty and no CA file was given (--ca or {CA_ENV})"
    )]
    NoRoots,
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot make the demo certificates: {0}")]
    Generate(String),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Every certificate in a PEM file (a chain: the server's first).
pub fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Bad {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoKey {
            path: path.to_owned(),
        },
        e => TlsError::Bad {
            path: path.to_owned(),
            message: e.to_string(),
        },
    })
}

/// The server's TLS config from a PEM certificate chain and its key; HTTP/1.1 only (WebSocket upgrades).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = certificates(cert)?;
    let secret = private_key(key)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Generate(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, secret)
        .map_err(|e| TlsError::Mismatch {
            cert: cert.to_owned(),
            key: key.to_owned(),
            message: e.to_string(),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The CA file a client was told to trust: `--ca` first, then `TWIN_CA`.
pub fn ca_file(flag: Option<&Path>) -> Option<PathBuf> {
    flag.map(Path::to_owned).or_else(|| {
        std::env::var_os(CA_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// A client's TLS config: the system's trusted roots, plus every certificate in `ca` if given.
pub fn client_config(ca: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::debug!("a system certificate was not loaded: {e}");
    }
    let (_added, _ignored) = roots.add_parsable_certificates(native.certs);
    if let Some(ca) = ca {
        for cert in certificates(ca)? {
            roots.add(cert).map_err(|e| TlsError::Bad {
                path: ca.to_owned(),
                message: format!("not a usable CA certificate: {e}"),
            })?;
        }
    }
    if roots.is_empty() {
        return Err(TlsError::NoRoots);
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Generate(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The demo's certificates, as written by [`make_demo_pki`].
#[derive(Debug, Clone)]
pub struct DemoPki {
    /// The CA certificate clients trust (`--ca`, `TWIN_CA`).
    pub ca: PathBuf,
    /// The server's certificate (signed by the CA) and key.
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl DemoPki {
    pub fn in_dir(dir: &Path) -> DemoPki {
        DemoPki {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        }
    }

    pub fn exists(&self) -> bool {
        self.ca.is_file() && self.cert.is_file() && self.key.is_file()
    }
}

/// Makes a local CA and a server certificate for `names` (DNS names or IP addresses) in `dir`, unless they
/// are there already (then they are kept: clients may trust that CA by now). Returns whether it made them.
pub fn make_demo_pki(dir: &Path, names: &[String]) -> Result<(DemoPki, bool), TlsError> {
    let pki = DemoPki::in_dir(dir);
    if pki.exists() {
        return Ok((pki, false));
    }
    let generated = generate(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
        path: dir.to_owned(),
        source,
    })?;
    write(&pki.key, &generated.key, true)?;
    write(&pki.cert, &generated.cert, false)?;
    // The CA last: its presence says the set is complete.
    write(&pki.ca, &generated.ca, false)?;
    Ok((pki, true))
}

struct Generated {
    ca: String,
    cert: String,
    key: String,
}

fn generate(names: &[String]) -> Result<Generated, rcgen::Error> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(DnType::CommonName, "Twin demo CA (this machine only)");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let mut server = CertificateParams::new(names.to_vec())?;
    server
        .distinguished_name
        .push(DnType::CommonName, "twin-server (demo)");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let server_key = KeyPair::generate()?;
    let server_cert = server.signed_by(&server_key, &issuer)?;
    Ok(Generated {
        ca: ca_cert.pem(),
        cert: server_cert.pem(),
        key: server_key.serialize_pem(),
    })
}

fn write(path: &Path, text: &str, secret: bool) -> Result<(), TlsError> {
    let failed = |source| TlsError::Write {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if secret {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(failed)?;
        file.write_all(text.as_bytes()).map_err(failed)?;
        file.sync_all().map_err(failed)?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    std::fs::rename(&tmp, path).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["localhost".into(), "127.0.0.1".into()]
    }

    #[test]
    fn the_demo_pki_is_made_once_and_loads_on_both_ends() {
        let dir = tempfile::tempdir().unwrap();
        let (pki, made) = make_demo_pki(dir.path(), &names()).unwrap();
        assert!(made);
        let first = std::fs::read(&pki.cert).unwrap();
        let (_, made_again) = make_demo_pki(dir.path(), &names()).unwrap();
        assert!(!made_again, "kept: clients may trust that CA already");
        assert_eq!(std::fs::read(&pki.cert).unwrap(), first);
        server_config(&pki.cert, &pki.key).unwrap();
        client_config(Some(&pki.ca)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&pki.key).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key is readable by its owner only");
        }
    }

    #[test]
    fn bad_files_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let (pki, _) = make_demo_pki(dir.path(), &names()).unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = server_config(&empty, &pki.key).unwrap_err().to_string();
        assert!(
            e.contains("empty.pem") && e.contains("no PEM certificate"),
            "{e}"
        );
        let e = server_config(&pki.cert, &empty).unwrap_err().to_string();
        assert!(
            e.contains("empty.pem") && e.contains("no PEM private key"),
            "{e}"
        );
        let e = client_config(Some(&dir.path().join("missing.pem")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.pem"), "{e}");
        // A key from another pair.
        let other = tempfile::tempdir().unwrap();
        let (other, _) = make_demo_pki(other.path(), &names()).unwrap();
        let e = server_config(&pki.cert, &other.key)
            .unwrap_err()
            .to_string();
        assert!(e.contains("do not go together"), "{e}");
    }

    #[test]
    fn the_flag_wins_over_the_environment() {
        let flag = PathBuf::from("/flag/ca.pem");
        assert_eq!(ca_file(Some(&flag)), Some(flag));
    }
}
