//! The listeners a server binds at `build`, and which listening hosts each one serves: one listener per
//! address, shared by the hosts whose ports are that address, and a listener on every interface (`*`,
//! `0.0.0.0`, `::`) shared by the other ports of its port number, which it receives anyway (port `0`
//! always binds a listener of its own); after checking that the hosts sharing one can be told apart and
//! speak the same scheme.

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
    /// The address asked for, which later ports may share (`None` for port 0).
    asked: Option<SocketAddr>,
    /// How errors name each of `hosts`: its port and its host.
    described: Vec<String>,
    /// Where its first port was declared, for the order of [`Binding::bound`].
    first: usize,
}

/// A port to listen on, for host `host`, described as `who` in errors.
#[derive(Debug)]
pub(crate) struct Wanted {
    pub(crate) port: ListeningPort,
    pub(crate) host: usize,
    pub(crate) who: String,
}

/// Where a port is served.
enum Place {
    /// On the listener at this index of [`Binding::bound`].
    Shared(usize),
    /// On a new listener, bound to this address.
    New(SocketAddr),
}

/// Every listener of a server, in the order their first ports were declared, and the URL of each
/// port, in the order they were declared.
#[derive(Debug, Default)]
pub(crate) struct Binding {
    pub(crate) bound: Vec<Bound>,
    prefixes: Vec<(usize, String)>,
}

impl Binding {
    /// Serves the builder's own router on a listener the program bound (it answers every name not
    /// taken by another host there).
    pub(crate) fn listener(&mut self, listener: std::net::TcpListener, secure: bool) -> Result<(), Error> {
        let local_addr = listener.local_addr().map_err(|e| Error::io("cannot read the bound address", e))?;
        let scheme = if secure { "https" } else { "http" };
        let first = self.prefixes.len();
        self.prefixes.push((first, format!("{scheme}://{local_addr}/")));
        let described = vec![format!("the listener on {local_addr}")];
        let hosts = vec![(HostName::Any, 0)];
        self.bound.push(Bound { listener, local_addr, secure, hosts, asked: Some(local_addr), described, first });
        Ok(())
    }

    /// Binds every port of `wanted`, declared in that order: the ports on every interface first, so
    /// that the others of their port numbers join them.
    pub(crate) fn ports(&mut self, wanted: Vec<Wanted>) -> Result<(), Error> {
        let offset = self.prefixes.len();
        let (everywhere, named): (Vec<_>, Vec<_>) =
            wanted.into_iter().enumerate().partition(|(_, wanted)| HostName::of(wanted.port.host()) == HostName::Any);
        for (index, wanted) in everywhere.into_iter().chain(named) {
            self.port(offset + index, wanted)?;
        }
        self.bound.sort_by_key(|bound| bound.first);
        self.prefixes.sort_by_key(|(index, _)| *index);
        Ok(())
    }

    /// The URL of every port, with the port really bound, in the order they were declared.
    pub(crate) fn prefixes(&self) -> Vec<String> {
        self.prefixes.iter().map(|(_, prefix)| prefix.clone()).collect()
    }

    /// Serves `wanted` on the listener already bound to its address (or on every interface at its port
    /// number), or on a new one.
    fn port(&mut self, index: usize, Wanted { port, host, who }: Wanted) -> Result<(), Error> {
        let name = HostName::of(port.host());
        let described = format!("`{port}` of {who}");
        let everywhere = |bound: &Bound| {
            port.port() != 0 && bound.asked.is_some_and(|at| at.ip().is_unspecified() && at.port() == port.port())
        };
        let place = match self.bound.iter().position(everywhere) {
            Some(at) => Place::Shared(at),
            None => {
                let asked = port.socket_addr()?;
                match self.bound.iter().position(|bound| asked.port() != 0 && bound.asked == Some(asked)) {
                    Some(at) => Place::Shared(at),
                    None => Place::New(asked),
                }
            }
        };
        let local_port = match place {
            Place::Shared(at) => {
                let bound = &mut self.bound[at];
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
            Place::New(asked) => {
                let listener = listen(asked).map_err(|e| Error::io(&format!("cannot listen on {port}"), e))?;
                let local_addr = listener.local_addr().map_err(|e| Error::io("cannot read the bound address", e))?;
                let (hosts, secure, described) = (vec![(name, host)], port.is_secure(), vec![described]);
                let asked = Some(asked);
                self.bound.push(Bound { listener, local_addr, secure, hosts, asked, described, first: index });
                local_addr.port()
            }
        };
        let host = if port.host().contains(':') { format!("[{}]", port.host()) } else { port.host().to_owned() };
        self.prefixes.push((index, format!("{}://{host}:{local_port}/", port.scheme())));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A binding holding one listener that stands for one on every interface at its port (it is bound
    /// to 127.0.0.1 only, as tests must be).
    fn everywhere() -> (Binding, u16) {
        let listener = listen(([127, 0, 0, 1], 0).into()).unwrap();
        let local_addr = listener.local_addr().unwrap();
        let port = local_addr.port();
        let bound = Bound {
            listener,
            local_addr,
            secure: false,
            hosts: vec![(HostName::Any, 0)],
            asked: Some(([0, 0, 0, 0], port).into()),
            described: vec![format!("`http://*:{port}/` of the server")],
            first: 0,
        };
        (Binding { bound: vec![bound], prefixes: vec![(0, format!("http://*:{port}/"))] }, port)
    }

    fn wanted(url: &str, host: usize) -> Wanted {
        Wanted { port: ListeningPort::parse(url).unwrap(), host, who: format!("host {host}") }
    }

    #[test]
    fn names_on_the_port_of_a_listener_on_every_interface_join_it_without_a_lookup() {
        let (mut binding, port) = everywhere();
        // `.invalid` never resolves (RFC 6761): joining must not look it up.
        binding
            .ports(vec![wanted(&format!("http://api.invalid:{port}/"), 1), wanted("http://127.0.0.1:0/", 2)])
            .unwrap();
        assert_eq!(binding.bound.len(), 2, "port 0 is a listener of its own");
        assert_eq!(binding.bound[0].hosts, [(HostName::Any, 0), (HostName::Exact("api.invalid".into()), 1)]);
        let prefixes = binding.prefixes();
        assert_eq!(prefixes[1], format!("http://api.invalid:{port}/"));
        assert!(prefixes[2].starts_with("http://127.0.0.1:") && !prefixes[2].ends_with(":0/"), "{prefixes:?}");

        let clash = binding.ports(vec![wanted(&format!("https://www.invalid:{port}/"), 3)]).unwrap_err();
        assert!(clash.to_string().contains("not one scheme"), "{clash}");
        let twice = binding.ports(vec![wanted(&format!("http://API.invalid:{port}/"), 4)]).unwrap_err();
        assert!(twice.to_string().contains("host 1") && twice.to_string().contains("host 4"), "{twice}");
    }
}
