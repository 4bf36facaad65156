//! [`RedisAccess`]: how a node reaches Redis — the URL (`redis://`, or `rediss://` for TLS on rustls),
//! the ACL user and password (from the URL, or given apart), the CA to trust and the client certificate
//! to show — the client made from it, the URL as logs may show it (never its password), and what went
//! wrong when Redis cannot be reached, in words that say what to fix.

use redis::{Client, ErrorKind, IntoConnectionInfo, RedisError, RedisResult};

/// Where Redis is and how to be let in.
#[derive(Clone, Default)]
pub(crate) struct RedisAccess {
    pub(crate) url: String,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    /// PEM: the CA that signed Redis's certificate, when it is not one the system trusts.
    pub(crate) root_certificate: Option<Vec<u8>>,
    /// PEM: the certificate and key shown to a Redis that asks for one (`tls-auth-clients yes`).
    pub(crate) client_certificate: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for RedisAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAccess")
            .field("url", &self.shown())
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("root_certificate", &self.root_certificate.is_some())
            .field("client_certificate", &self.client_certificate.is_some())
            .finish()
    }
}

impl RedisAccess {
    /// A client for this Redis (nothing is connected yet).
    pub(crate) fn client(&self) -> RedisResult<Client> {
        let mut info = self.url.as_str().into_connection_info()?;
        let mut settings = info.redis_settings().clone();
        if let Some(username) = &self.username {
            settings = settings.set_username(username);
        }
        if let Some(password) = &self.password {
            settings = settings.set_password(password);
        }
        info = info.set_redis_settings(settings);
        if self.root_certificate.is_none() && self.client_certificate.is_none() {
            return Client::open(info);
        }
        if !matches!(info.addr(), redis::ConnectionAddr::TcpTls { .. }) {
            return Err(RedisError::from((
                ErrorKind::InvalidClientConfig,
                "a TLS certificate was given for a redis:// URL",
                "write rediss:// to connect over TLS".to_owned(),
            )));
        }
        // rustls needs its cryptography chosen; ring is sisk's. (A program that chose one already keeps it.)
        let _ = rustls::crypto::ring::default_provider().install_default();
        let certificates = redis::TlsCertificates {
            client_tls: self
                .client_certificate
                .as_ref()
                .map(|(cert, key)| redis::ClientTlsConfig { client_cert: cert.clone(), client_key: key.clone() }),
            root_cert: self.root_certificate.clone(),
        };
        Client::build_with_tls(info, certificates)
    }

    /// The URL with its password, if any, left out: what logs and errors show.
    pub(crate) fn shown(&self) -> String {
        let Some((scheme, rest)) = self.url.split_once("://") else {
            return self.url.clone();
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        match authority.rsplit_once('@') {
            Some((user_info, host)) => {
                let user = user_info.split_once(':').map_or(user_info, |(user, _)| user);
                let user = if user.is_empty() { String::new() } else { format!("{user}:") };
                format!("{scheme}://{user}***@{host}{path}")
            }
            None => self.url.clone(),
        }
    }
}

/// Why Redis could not be reached, in words that say what to fix, with the `redis` crate's own message.
pub(crate) fn failure_cause(err: &RedisError) -> String {
    let text = err.to_string();
    let lower = text.to_ascii_lowercase();
    let why = match err.kind() {
        ErrorKind::AuthenticationFailed => "Redis refused the user or password (check the ACL user and password)",
        _ if ["wrongpass", "noauth", "noperm"].iter().any(|code| lower.contains(code)) => {
            "Redis refused the user or password (check the ACL user and password, and the user's permissions)"
        }
        ErrorKind::InvalidClientConfig if lower.contains("tls") && lower.contains("feature") => {
            "the URL asks for TLS (rediss://), which this build of the redis crate lacks"
        }
        ErrorKind::InvalidClientConfig => "the Redis URL or its TLS settings cannot be used",
        _ if lower.contains("certificate") || lower.contains("unknownissuer") || lower.contains("handshake") => {
            "the TLS handshake with Redis failed (is its certificate signed by the CA given with \
             tls_root_certificate, and for this host name? does Redis want a client certificate?)"
        }
        _ if lower.contains("lookup") || lower.contains("name or service not known") || lower.contains("resolve") => {
            "the Redis host name is unknown (check the URL's host)"
        }
        _ if lower.contains("connection refused") => "nothing listens at the Redis address (is Redis running there?)",
        _ if lower.contains("timed out") || lower.contains("timeout") => {
            "Redis did not answer in time (a firewall, a network partition, or a Redis that is not up)"
        }
        _ if lower.contains("connection reset") || lower.contains("broken pipe") || lower.contains("closed") => {
            "the connection to Redis was cut (Redis restarted, or it closed the connection: a TLS port reached \
             over redis://, or a client certificate it wants and did not get)"
        }
        _ => "Redis cannot be reached",
    };
    format!("{why}: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(url: &str) -> RedisAccess {
        RedisAccess { url: url.to_owned(), ..RedisAccess::default() }
    }

    #[test]
    fn a_password_never_shows() {
        assert_eq!(at("rediss://alice:s3cret@redis.example:6380/0").shown(), "rediss://alice:***@redis.example:6380/0");
        assert_eq!(at("redis://:s3cret@127.0.0.1/").shown(), "redis://***@127.0.0.1/");
        assert_eq!(at("redis://127.0.0.1:6379/").shown(), "redis://127.0.0.1:6379/");
        let debug = format!("{:?}", RedisAccess { password: Some("hunter2".into()), ..at("redis://u:p@h/") });
        assert!(!debug.contains("hunter2") && !debug.contains(":p@"), "{debug}");
    }

    #[test]
    fn a_certificate_for_a_plain_url_is_refused_with_what_to_write() {
        let access =
            RedisAccess { root_certificate: Some(b"-----BEGIN CERTIFICATE-----".to_vec()), ..at("redis://h/") };
        let err = access.client().unwrap_err();
        assert!(failure_cause(&err).contains("rediss://"), "{}", failure_cause(&err));
    }
}
