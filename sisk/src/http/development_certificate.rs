//! [`DevelopmentCertificate`]: a self-signed certificate for `https://localhost`, made at run time, as
//! Sisk's `CertificateHelper.CreateTrustedDevelopmentCertificate` makes one.

use std::fmt;
use std::path::Path;

use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::http::SslCertificate;
use crate::Error;

/// A self-signed certificate valid for `localhost`, `127.0.0.1` and `::1`, with its private key, for
/// serving `https://localhost` while developing. Browsers warn about it until it is trusted (import
/// [`certificate_pem`](Self::certificate_pem) as an authority), and a new one is made on each call:
/// write it to files once and load those to keep trusting the same one. Never use it in production.
///
/// ```
/// use sisk::prelude::*;
///
/// let app = HttpServer::create_builder()
///     .use_listening_port("https://localhost:0/")
///     .use_ssl(DevelopmentCertificate::generate()?)
///     .build()?;
/// # Ok::<(), sisk::Error>(())
/// ```
#[derive(Clone)]
pub struct DevelopmentCertificate {
    certificate: SslCertificate,
    certificate_pem: String,
    key_pem: String,
}

/// The names a development certificate is valid for.
const LOCAL_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

impl DevelopmentCertificate {
    /// Makes a new key pair and a certificate for the local names, signed by that key.
    pub fn generate() -> Result<Self, Error> {
        let names: Vec<String> = LOCAL_NAMES.iter().map(|name| (*name).to_owned()).collect();
        let made = rcgen::generate_simple_self_signed(names).map_err(|e| {
            Error::invalid_certificate(format!("cannot make a development certificate ({e})")).caused_by(e)
        })?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.key_pair.serialize_der()));
        let chain = vec![CertificateDer::clone(made.cert.der())];
        Ok(DevelopmentCertificate {
            certificate: SslCertificate { chain, key },
            certificate_pem: made.cert.pem(),
            key_pem: made.key_pair.serialize_pem(),
        })
    }

    /// The certificate, as PEM text (what a browser or a client imports to trust it).
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The certificate, as DER bytes.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate.chain[0]
    }

    /// The private key, as PKCS #8 PEM text.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// Writes the certificate and the key as PEM files, for
    /// [`SslCertificate::from_pem_files`] to read back on later runs.
    pub fn write_pem_files(&self, certificate: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<(), Error> {
        for (path, pem) in [(certificate.as_ref(), &self.certificate_pem), (key.as_ref(), &self.key_pem)] {
            std::fs::write(path, pem).map_err(|e| Error::io(&format!("cannot write {}", path.display()), e))?;
        }
        Ok(())
    }
}

impl From<DevelopmentCertificate> for SslCertificate {
    fn from(development: DevelopmentCertificate) -> Self {
        development.certificate
    }
}

/// Shows the certificate, never the key.
impl fmt::Debug for DevelopmentCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevelopmentCertificate").field("names", &LOCAL_NAMES).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_files_read_back_as_the_same_certificate() {
        let development = DevelopmentCertificate::generate().unwrap();
        let folder = std::env::temp_dir().join(format!("sisk-development-certificate-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        let (certificate, key) = (folder.join("cert.pem"), folder.join("key.pem"));
        development.write_pem_files(&certificate, &key).unwrap();
        let read = SslCertificate::from_pem_files(&certificate, &key).unwrap();
        std::fs::remove_dir_all(&folder).unwrap();
        assert_eq!(read.chain[0].as_ref(), development.certificate_der());
        assert_eq!(read.key.secret_der(), SslCertificate::from(development).key.secret_der());
    }
}
