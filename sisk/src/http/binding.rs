//! The listeners a server binds at `build`, and which listening hosts each one serves: one listener per
//! address, shared by the hosts whose ports are that address (port `0` always binds a listener of its
//! own), after checking that the hosts sharing one can be told apart and speak the same scheme.

use std::net::SocketAddr;

use crate::engine::host_routing::HostName;
use crate::http::ListeningPort;
use crate::Error;

/// One bound listener.
#[derive(Debug)]
pub(crate) struct Bound {
    pub(crate) listener: std::net::TcpListener,
    pub(crate) local_addr: SocketAddr,
    /// Served over TLS.
    pub(crate) secure: bool,
    /// The hosts it serves: the name each answers to, and its index (0 for the builder's own router).
    pub(crate) hosts: Vec<(HostName, usize)>,
    /// The address asked for, which later ports may share (`None` for port 0 and a listener handed over).
    asked: Option<SocketAddr>,
    /// How errors name each of `hosts`: its port and its host.
    described: Vec<String>,
}

/// Every listener of a server, in the order of its ports, and the URL of each port.
#[derive(Debug, Default)]
pub(crate) struct Binding {
    pub(crate) bound: Vec<Bound>,
    pub(crate) prefixes: Vec<String>,
}

impl Binding {
    /// Serves the builder's own router on a listener the program bound (it answers every name).
    pub(crate) fn listener(&mut self, listener: std::net::TcpListener, secure: bool) -> Result<(), Error> {
        let local_addr = listener.local_addr().map_err(|e| Error::io("cannot read the bound address", e))?;
        let scheme = if secure { "https" } else { "http" };
        self.prefixes.push(format!("{scheme}://{local_addr}/"));
        let described = vec![format!("the listener on {local_addr}")];
        let hosts = vec![(HostName::Any, 0)];
        self.bound.push(Bound { listener, local_addr, secure, hosts, asked: None, described });
        Ok(())
    }

    /// Serves host `host` (described as `who` in errors) on `port`: on the listener already bound to
    /// that address, or on a new one.
    pub(crate) fn port(&mut self, port: &ListeningPort, host: usize, who: &str) -> Result<(), Error> {
        let asked = port.socket_addr()?;
        let name = HostName::of(port.host());
        let described = format!("`{port}` of {who}");
        let shared = self.bound.iter_mut().find(|bound| asked.port() != 0 && bound.asked == Some(asked));
        let local_port = match shared {
            Some(bound) => {
                if bound.secure != port.is_secure() {
                    return Err(Error::invalid_listening_port(format!(
                        "{described} and {} are one address but not one scheme; give them different ports",
                        bound.described[0]
                    )));
                }
                if let Some(at) = bound.hosts.iter().position(|(other, _)| *other == name) {
                    return Err(Error::invalid_listening_port(format!(
                        "{described} and {} are one address and one host name, so a request cannot tell them \
                         apart; give them different ports or host names",
                        bound.described[at]
                    )));
                }
                bound.hosts.push((name, host));
                bound.described.push(described);
                bound.local_addr.port()
            }
            None => {
                let listener = listen(asked).map_err(|e| Error::io(&format!("cannot listen on {port}"), e))?;
                let local_addr = listener.local_addr().map_err(|e| Error::io("cannot read the bound address", e))?;
                let hosts = vec![(name, host)];
                let (secure, asked) = (port.is_secure(), Some(asked));
                self.bound.push(Bound { listener, local_addr, secure, hosts, asked, described: vec![described] });
                local_addr.port()
            }
        };
        let host = if port.host().contains(':') { format!("[{}]", port.host()) } else { port.host().to_owned() };
        self.prefixes.push(format!("{}://{host}:{local_port}/", port.scheme()));
        Ok(())
    }
}

/// How many connections may wait to be accepted. The standard library's 128 overflows when many
/// `EventSource`s reconnect at once (after a deploy, say): the kernel then drops or resets some of them.
/// The kernel caps it at `net.core.somaxconn`.
const LISTEN_BACKLOG: i32 = 4096;

/// A non-blocking listener on `addr`, with address reuse (as the standard library sets it) and a backlog
/// of [`LISTEN_BACKLOG`].
fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}
