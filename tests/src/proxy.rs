//! [`Proxy`]: a TCP proxy on a free loopback port that plays the network between two parties — a load
//! balancer in front of several nodes, or the path from a node to Redis. Each new connection goes to the
//! backend it points at now, and the test can move it to another backend, cut every open connection (the
//! network failing with a reset, as a crash would), or partition it: nothing gets through either way and
//! nothing is closed, as when a link or a firewall drops packets, until the partition heals and what was
//! held flows on. It can also hold only the backend's answers, so a request is carried out and its answer
//! lost, as when a link fails one way just after a write. Or it can strand the connections open now:
//! they hear nothing more and are not closed, while new ones get through, as when a NAT or a firewall
//! forgets the flows it had.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Everything, both ways.
    Open,
    /// Nothing, either way.
    Partitioned,
    /// What the client sends reaches the backend; what the backend sends is held.
    AnswersHeld,
}

/// A running proxy; dropping it closes its port and every connection through it.
#[derive(Debug)]
pub struct Proxy {
    address: SocketAddr,
    backend: Arc<Mutex<SocketAddr>>,
    /// Bumped to cut every open connection.
    cuts: watch::Sender<u64>,
    /// What gets through now.
    link: watch::Sender<Link>,
    /// Bumped to strand every open connection.
    strands: watch::Sender<u64>,
    accepting: JoinHandle<()>,
}

impl Proxy {
    /// A proxy to `backend`, listening on 127.0.0.1.
    pub async fn start(backend: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
        let address = listener.local_addr().expect("the proxy's address");
        let backend = Arc::new(Mutex::new(backend));
        let (cuts, _) = watch::channel(0);
        let (link, _) = watch::channel(Link::Open);
        let (strands, _) = watch::channel(0);
        let (to, cut, watched, stranding) = (backend.clone(), cuts.clone(), link.clone(), strands.clone());
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let target = *to.lock().unwrap();
                let mut cut = cut.subscribe();
                let link = watched.clone();
                let stranded = Stranded { strands: stranding.subscribe(), after: *stranding.borrow() };
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return; // the backend is gone: the client sees its connection close
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    let (up, down) = (link.subscribe(), link.subscribe());
                    tokio::select! {
                        () = pump(client_read, server_write, up, |link| link == Link::Partitioned, stranded.clone()) => {}
                        () = pump(server_read, client_write, down, |link| link != Link::Open, stranded) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy { address, backend, cuts, link, strands, accepting }
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Sends the connections that open from now on to `backend`.
    pub fn switch_to(&self, backend: SocketAddr) {
        *self.backend.lock().unwrap() = backend;
    }

    /// Closes every connection open through the proxy, both ways.
    pub fn cut(&self) {
        self.cuts.send_modify(|cuts| *cuts += 1);
    }

    /// From now on nothing gets through, either way, on the open connections or on new ones (which are
    /// accepted and then hear nothing); nothing is closed.
    pub fn partition(&self) {
        self.link.send_replace(Link::Partitioned);
    }

    /// From now on what the backend sends is held, on the open connections and on new ones, while what
    /// the client sends still reaches it: each request is carried out and its answer lost.
    pub fn hold_answers(&self) {
        self.link.send_replace(Link::AnswersHeld);
    }

    /// The connections open now hear nothing more, either way, for good, and are not closed; new ones
    /// get through.
    pub fn strand(&self) {
        self.strands.send_modify(|strands| *strands += 1);
    }

    /// Ends the partition, or the holding of answers: what was held flows on.
    pub fn heal(&self) {
        self.link.send_replace(Link::Open);
    }
}

/// Whether one connection was stranded: once the count of strands passed the one it opened at.
#[derive(Clone)]
struct Stranded {
    strands: watch::Receiver<u64>,
    after: u64,
}

/// Copies `from` to `to`, holding each chunk while the link `holds` it, and for good once the connection
/// is `stranded` (keeping both halves open); ends when either side does.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut link: watch::Receiver<Link>,
    holds: fn(Link) -> bool,
    stranded: Stranded,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if link.wait_for(|link| !holds(*link)).await.is_err() {
            return;
        }
        if *stranded.strands.borrow() > stranded.after {
            std::future::pending::<()>().await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut();
    }
}
