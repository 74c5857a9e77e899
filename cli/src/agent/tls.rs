//! Whom the agent trusts when it pushes over `https://`: the public roots (Mozilla's, as webpki
//! ships them, the same on every board whatever its CA bundle), plus the certificates of a
//! private CA given with `--ca-file`, as a self-hosted Pyroscope or Parca behind an internal CA
//! needs.

use std::{path::Path, sync::Arc};

use tokio_rustls::rustls::{
    self,
    pki_types::{pem::PemObject, CertificateDer},
};

/// A TLS client configuration for the push server, with `alpn` offered (`h2` for gRPC).
pub fn client_config(ca_file: Option<&Path>, alpn: &[&[u8]]) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = ca_file {
        for cert in private_ca(path)? {
            roots.add(cert).map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// The certificates of a PEM file; a file with none is an error (a key or a DER file given by
/// mistake would otherwise trust nothing new, silently).
fn private_ca(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let text = std::fs::read(path).map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("--ca-file {}: not PEM certificates ({e:?})", path.display()))?;
    if certs.is_empty() {
        return Err(format!("--ca-file {}: no `BEGIN CERTIFICATE` block in it", path.display()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("server.key");
        std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").unwrap();
        let err = client_config(Some(&key), &[]).unwrap_err();
        assert!(err.contains("server.key") && err.contains("BEGIN CERTIFICATE"), "{err}");
        let missing = client_config(Some(&dir.path().join("nope.pem")), &[]).unwrap_err();
        assert!(missing.contains("nope.pem"), "{missing}");
        assert!(client_config(None, &[b"h2"]).is_ok());
    }
}
