//! [`RedisAccess`]: how a node reaches Redis — which kind of Redis it is (one server at a URL, the master
//! Sentinel names, or a Redis Cluster), the ACL user and password (from the URL, or given apart), the CA
//! to trust and the client certificate to show — the connections made from it, the address as logs may
//! show it (never a password), and what went wrong when Redis cannot be reached, in words that say what
//! to fix.

use std::time::Duration;

use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{AsyncConnectionConfig, Client, ConnectionInfo, ErrorKind, IntoConnectionInfo, RedisError, RedisResult};

use crate::backplane::redis_connection::RedisConnection;

/// Which kind of Redis a node uses.
#[derive(Clone, Debug, Default)]
pub(crate) enum Topology {
    /// One server, at the URL.
    #[default]
    Server,
    /// The master the Sentinels at these URLs name `master`, found again after each failover.
    Sentinel { sentinels: Vec<String>, master: String },
    /// A Redis Cluster reached through these nodes (any of them; it finds the rest).
    Cluster { nodes: Vec<String> },
}

/// How long a connection may take to open.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// Where Redis is and how to be let in.
#[derive(Clone, Default)]
pub(crate) struct RedisAccess {
    pub(crate) topology: Topology,
    /// The server's URL; for Sentinel, the URL whose user, password, database and scheme the master is
    /// reached with (its host is not used); for a cluster, its first node.
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
    /// A new connection, whose commands wait at most `response_timeout` for their answer (`None`: for
    /// ever). Through Sentinel, the master is asked for each time, so a connection made after a
    /// failover is to the new master.
    pub(crate) async fn connect(&self, response_timeout: Option<Duration>) -> RedisResult<RedisConnection> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_response_timeout(response_timeout);
        match &self.topology {
            Topology::Server => {
                Ok(RedisConnection::Server(self.client()?.get_multiplexed_async_connection_with_config(&config).await?))
            }
            Topology::Sentinel { sentinels, master } => {
                let info = self.connection_info(&self.url)?;
                let node =
                    SentinelNodeConnectionInfo::default().set_redis_connection_info(info.redis_settings().clone());
                let node = match info.addr() {
                    redis::ConnectionAddr::TcpTls { insecure, .. } => {
                        node.set_tls_mode(if *insecure { redis::TlsMode::Insecure } else { redis::TlsMode::Secure })
                    }
                    _ => node,
                };
                let mut sentinel =
                    SentinelClient::build(sentinels.clone(), master.as_str(), Some(node), SentinelServerType::Master)?;
                Ok(RedisConnection::Server(sentinel.get_async_connection_with_config(&config).await?))
            }
            Topology::Cluster { nodes } => {
                let mut builder = redis::cluster::ClusterClientBuilder::new(
                    nodes.iter().map(|node| self.connection_info(node)).collect::<RedisResult<Vec<_>>>()?,
                )
                .connection_timeout(CONNECTION_TIMEOUT);
                if let Some(timeout) = response_timeout {
                    builder = builder.response_timeout(timeout);
                }
                if let Some(certificates) = self.certificates() {
                    builder = builder.certs(certificates);
                }
                Ok(RedisConnection::Cluster(builder.build()?.get_async_connection().await?))
            }
        }
    }

    /// `url`'s connection info, with the user and password given apart, if any.
    fn connection_info(&self, url: &str) -> RedisResult<ConnectionInfo> {
        let info = url.into_connection_info()?;
        let mut settings = info.redis_settings().clone();
        if let Some(username) = &self.username {
            settings = settings.set_username(username);
        }
        if let Some(password) = &self.password {
            settings = settings.set_password(password);
        }
        Ok(info.set_redis_settings(settings))
    }

    /// The CA and client certificate given, if any.
    fn certificates(&self) -> Option<redis::TlsCertificates> {
        if self.root_certificate.is_none() && self.client_certificate.is_none() {
            return None;
        }
        // rustls needs its cryptography chosen; ring is sisk's. (A program that chose one already keeps it.)
        let _ = rustls::crypto::ring::default_provider().install_default();
        Some(redis::TlsCertificates {
            client_tls: self
                .client_certificate
                .as_ref()
                .map(|(cert, key)| redis::ClientTlsConfig { client_cert: cert.clone(), client_key: key.clone() }),
            root_cert: self.root_certificate.clone(),
        })
    }

    /// A client for one server (nothing is connected yet).
    fn client(&self) -> RedisResult<Client> {
        let info = self.connection_info(&self.url)?;
        let Some(certificates) = self.certificates() else {
            return Client::open(info);
        };
        if !matches!(info.addr(), redis::ConnectionAddr::TcpTls { .. }) {
            return Err(RedisError::from((
                ErrorKind::InvalidClientConfig,
                "a TLS certificate was given for a redis:// URL",
                "write rediss:// to connect over TLS".to_owned(),
            )));
        }
        Client::build_with_tls(info, certificates)
    }

    /// Where Redis is, without any password: what logs and errors show.
    pub(crate) fn shown(&self) -> String {
        match &self.topology {
            Topology::Server => without_password(&self.url),
            Topology::Sentinel { sentinels, master } => {
                let sentinels: Vec<String> = sentinels.iter().map(|url| without_password(url)).collect();
                format!("the master {master:?} of the Sentinels {}", sentinels.join(", "))
            }
            Topology::Cluster { nodes } => {
                let nodes: Vec<String> = nodes.iter().map(|url| without_password(url)).collect();
                format!("the Redis Cluster of {}", nodes.join(", "))
            }
        }
    }
}

/// `url` with its password, if any, left out.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split_once(':').map_or(user_info, |(user, _)| user);
            let user = if user.is_empty() { String::new() } else { format!("{user}:") };
            format!("{scheme}://{user}***@{host}{path}")
        }
        None => url.to_owned(),
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
    fn sentinels_and_cluster_nodes_show_without_passwords() {
        let sentinel = RedisAccess {
            topology: Topology::Sentinel {
                sentinels: vec!["redis://:pw@10.0.0.1:26379".into()],
                master: "main".into(),
            },
            ..at("redis://app:secret@ignored/0")
        };
        assert_eq!(sentinel.shown(), "the master \"main\" of the Sentinels redis://***@10.0.0.1:26379");
        let cluster = RedisAccess {
            topology: Topology::Cluster { nodes: vec!["redis://a:1".into(), "redis://b:2".into()] },
            ..at("redis://a:1")
        };
        assert_eq!(cluster.shown(), "the Redis Cluster of redis://a:1, redis://b:2");
    }

    #[test]
    fn a_certificate_for_a_plain_url_is_refused_with_what_to_write() {
        let access =
            RedisAccess { root_certificate: Some(b"-----BEGIN CERTIFICATE-----".to_vec()), ..at("redis://h/") };
        let err = access.client().unwrap_err();
        assert!(failure_cause(&err).contains("rediss://"), "{}", failure_cause(&err));
    }
}
