//! [`TlsFiles`]: a CA made for one test, with a server certificate for 127.0.0.1 and localhost and a
//! client certificate it signed, written as PEM files in a folder of their own (for `redis-server`) and
//! kept as PEM text (for the client); the folder is removed when dropped.

use std::path::PathBuf;

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};

/// The CA, the server's certificate and key, and a client's certificate and key.
#[derive(Debug)]
pub struct TlsFiles {
    dir: PathBuf,
    /// The CA's certificate (PEM).
    pub ca: String,
    /// A client certificate the CA signed (PEM).
    pub client_certificate: String,
    /// Its private key (PEM).
    pub client_key: String,
    /// A CA nobody used (PEM), for a client that trusts the wrong one.
    pub other_ca: String,
}

impl TlsFiles {
    /// Makes them and writes `ca.crt`, `server.crt` and `server.key`.
    pub fn make() -> TlsFiles {
        let (ca_certificate, ca_key) = authority("sisk test CA");
        let (other_ca, _) = authority("another CA");
        let signed = |names: Vec<String>, purpose: ExtendedKeyUsagePurpose| {
            let mut params = CertificateParams::new(names).expect("valid names");
            params.distinguished_name.push(DnType::CommonName, "sisk test");
            params.extended_key_usages = vec![purpose];
            let key = KeyPair::generate().expect("a key");
            let certificate = params.signed_by(&key, &ca_certificate, &ca_key).expect("signed by the CA");
            (certificate.pem(), key.serialize_pem())
        };
        let (server_certificate, server_key) =
            signed(vec!["127.0.0.1".into(), "localhost".into()], ExtendedKeyUsagePurpose::ServerAuth);
        let (client_certificate, client_key) = signed(vec!["client".into()], ExtendedKeyUsagePurpose::ClientAuth);
        let dir = std::env::temp_dir().join(format!("sisk-tls-{}-{}", std::process::id(), crate::unique()));
        std::fs::create_dir_all(&dir).expect("a folder for the certificates");
        let files =
            TlsFiles { dir, ca: ca_certificate.pem(), client_certificate, client_key, other_ca: other_ca.pem() };
        for (name, text) in [("ca.crt", &files.ca), ("server.crt", &server_certificate), ("server.key", &server_key)] {
            std::fs::write(files.dir.join(name), text).expect("the certificate is written");
        }
        files
    }

    /// The path of one of its files, as text.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }
}

/// A self-signed CA.
fn authority(name: &str) -> (rcgen::Certificate, KeyPair) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("no names");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().expect("a key");
    let certificate = params.self_signed(&key).expect("self-signed");
    (certificate, key)
}

impl Drop for TlsFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
