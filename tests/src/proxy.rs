//! [`Proxy`]: a TCP proxy on a free loopback port that plays the network between two parties — a load
//! balancer in front of several nodes, or the path from a node to Redis. Each new connection goes to the
//! backend it points at now, and the test can move it to another backend, cut every open connection (the
//! network failing with a reset, as a crash would), or partition it: nothing gets through either way and
//! nothing is closed, as when a link or a firewall drops packets, until the partition heals and what was
//! held flows on.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running proxy; dropping it closes its port and every connection through it.
#[derive(Debug)]
pub struct Proxy {
    address: SocketAddr,
    backend: Arc<Mutex<SocketAddr>>,
    /// Bumped to cut every open connection.
    cuts: watch::Sender<u64>,
    /// True while nothing gets through.
    partitioned: watch::Sender<bool>,
    accepting: JoinHandle<()>,
}

impl Proxy {
    /// A proxy to `backend`, listening on 127.0.0.1.
    pub async fn start(backend: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
        let address = listener.local_addr().expect("the proxy's address");
        let backend = Arc::new(Mutex::new(backend));
        let (cuts, _) = watch::channel(0);
        let (partitioned, _) = watch::channel(false);
        let (to, cut, partition) = (backend.clone(), cuts.clone(), partitioned.clone());
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let target = *to.lock().unwrap();
                let mut cut = cut.subscribe();
                let partition = partition.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return; // the backend is gone: the client sees its connection close
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::select! {
                        () = pump(client_read, server_write, partition.subscribe()) => {}
                        () = pump(server_read, client_write, partition.subscribe()) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy { address, backend, cuts, partitioned, accepting }
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
        self.partitioned.send_replace(true);
    }

    /// Ends the partition: what was held flows on.
    pub fn heal(&self) {
        self.partitioned.send_replace(false);
    }
}

/// Copies `from` to `to`, holding each chunk while the link is partitioned; ends when either side does.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut partitioned: watch::Receiver<bool>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if partitioned.wait_for(|partitioned| !partitioned).await.is_err() {
            return;
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
