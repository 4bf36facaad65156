//! [`Proxy`]: a TCP proxy on a free loopback port that plays the load balancer in front of several nodes:
//! each new connection goes to the node it points at now, and the test can move it to another node or cut
//! every open connection (the network failing between a client and its node).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

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
    accepting: JoinHandle<()>,
}

impl Proxy {
    /// A proxy to `backend`, listening on 127.0.0.1.
    pub async fn start(backend: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
        let address = listener.local_addr().expect("the proxy's address");
        let backend = Arc::new(Mutex::new(backend));
        let (cuts, _) = watch::channel(0);
        let (to, cut) = (backend.clone(), cuts.clone());
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let target = *to.lock().unwrap();
                let mut cut = cut.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(target).await else {
                        return; // the node is gone: the client sees its connection close
                    };
                    let mut client = client;
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy { address, backend, cuts, accepting }
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
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut();
    }
}
