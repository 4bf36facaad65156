//! [`SslCertificate`]: the certificate chain and private key an `https://` listening port presents,
//! read from PEM files as most tools write them (certbot, mkcert, openssl).

use std::fmt;
use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;

/// A certificate chain (the server's certificate first, then the intermediates) and its private key,
/// given to [`use_ssl`](crate::http::HttpServerHostContextBuilder::use_ssl). Sisk takes an
/// `X509Certificate2`; sisk for Rust reads the PEM files a certificate authority hands out.
///
/// ```no_run
/// use sisk::http::SslCertificate;
///
/// let certificate = SslCertificate::from_pem_files("/etc/letsencrypt/live/example.org/fullchain.pem",
///                                                  "/etc/letsencrypt/live/example.org/privkey.pem")?;
/// # Ok::<(), sisk::Error>(())
/// ```
pub struct SslCertificate {
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: PrivateKeyDer<'static>,
}

impl SslCertificate {
    /// Reads the chain from `certificate` (one or more `CERTIFICATE` blocks) and the key from `key`
    /// (the first `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block).
    pub fn from_pem_files(certificate: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Self, Error> {
        let (certificate, key) = (certificate.as_ref(), key.as_ref());
        let read = |path: &Path| {
            std::fs::read(path)
                .map_err(|e| Error::invalid_certificate(format!("cannot read {}: {e}", path.display())).caused_by(e))
        };
        Self::from_pem(&read(certificate)?, &read(key)?)
    }

    /// Reads the chain and the key from PEM text in memory.
    pub fn from_pem(certificate: &[u8], key: &[u8]) -> Result<Self, Error> {
        let chain = CertificateDer::pem_slice_iter(certificate)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::invalid_certificate(format!("the certificate chain is not PEM ({e})")).caused_by(e))?;
        if chain.is_empty() {
            return Err(Error::invalid_certificate("the certificate file holds no CERTIFICATE block"));
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| {
            Error::invalid_certificate(format!("the private key file holds no usable key ({e})")).caused_by(e)
        })?;
        Ok(SslCertificate { chain, key })
    }
}

impl Clone for SslCertificate {
    fn clone(&self) -> Self {
        SslCertificate { chain: self.chain.clone(), key: self.key.clone_key() }
    }
}

/// Shows the chain's length, never the key.
impl fmt::Debug for SslCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SslCertificate").field("chain", &self.chain.len()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::DevelopmentCertificate;

    #[test]
    fn pem_text_that_is_not_a_certificate_and_key_is_refused() {
        let development = DevelopmentCertificate::generate().unwrap();
        let (certificate, key) = (development.certificate_pem().as_bytes(), development.key_pem().as_bytes());
        assert_eq!(SslCertificate::from_pem(certificate, key).unwrap().chain.len(), 1);
        for (certificate, key) in
            [(&b""[..], key), (key, key), (certificate, certificate), (certificate, b"-----BEGIN")]
        {
            assert_eq!(
                SslCertificate::from_pem(certificate, key).unwrap_err().kind(),
                crate::ErrorKind::InvalidCertificate
            );
        }
        let missing = SslCertificate::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem").unwrap_err();
        assert_eq!(missing.kind(), crate::ErrorKind::InvalidCertificate, "{missing}");
        assert!(missing.message().contains("/nonexistent/cert.pem"), "names the file: {missing}");
    }
}
