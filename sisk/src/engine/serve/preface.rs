//! Telling a plain-text connection's protocol from its first bytes: HTTP/2 with prior knowledge opens
//! with the client preface, anything else is HTTP/1.1. (Over TLS, ALPN says it instead.)

use std::task::{Context, Poll};

use tokio::io::{Interest, ReadBuf};
use tokio::net::TcpStream;

/// The client preface that opens an HTTP/2 connection with prior knowledge.
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether a new connection speaks HTTP/2, told from its first bytes, which are peeked at and left in the
/// socket. Reading them instead (and handing them back through a rewinding wrapper, as hyper-util's
/// `auto` builder does) makes hyper's first read find its 8 KiB buffer partly used and double it: 8 KiB
/// more for every connection, kept for as long as an event stream stays open.
///
/// Waiting costs nothing while the client is silent, also after part of the preface: a peek leaves the
/// bytes in the socket, so the socket stays readable, and a plain loop of peeks would spin. When a peek
/// sees nothing new, the readiness it was based on is cleared, and the task sleeps until more bytes
/// arrive. (The peek runs inside `try_io`, so bytes that arrive after the readiness was read keep it set.)
pub(super) async fn speaks_http2(stream: &TcpStream) -> std::io::Result<bool> {
    let mut first = [0u8; HTTP2_PREFACE.len()];
    let mut seen = 0;
    loop {
        let ready = stream.ready(Interest::READABLE).await?;
        let peeked = match stream.try_io(Interest::READABLE, || peek_news(stream, &mut first, seen)) {
            Ok(peeked) => peeked,
            // A client that sent part of the preface and then closed its side: the closed bits of
            // readiness are never cleared, so waiting again would spin. Not HTTP/2: hyper says what it is.
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock && ready.is_read_closed() => return Ok(false),
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(err) => return Err(err),
        };
        if peeked == 0 || first[..peeked] != HTTP2_PREFACE[..peeked] {
            return Ok(false);
        }
        if peeked == HTTP2_PREFACE.len() {
            return Ok(true);
        }
        seen = peeked;
    }
}

/// Peeks into `buf` once without waiting; `WouldBlock` unless there is something new since `seen` bytes
/// (more bytes, or the end of the stream).
fn peek_news(stream: &TcpStream, buf: &mut [u8], seen: usize) -> std::io::Result<usize> {
    let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
    let mut read = ReadBuf::new(buf);
    match stream.poll_peek(&mut cx, &mut read) {
        Poll::Ready(Ok(peeked)) if peeked == 0 || peeked > seen => Ok(peeked),
        Poll::Ready(Ok(_)) | Poll::Pending => Err(std::io::ErrorKind::WouldBlock.into()),
        Poll::Ready(Err(err)) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;

    use std::future::Future;

    use tokio::net::TcpListener;

    use super::*;

    /// Sends `chunks` (20 ms apart) to a fresh connection; returns what `speaks_http2` said and how many
    /// bytes were still waiting in the socket afterwards.
    async fn detect(chunks: &[&[u8]]) -> (bool, usize) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let chunks: Vec<Vec<u8>> = chunks.iter().map(|chunk| chunk.to_vec()).collect();
        let client = tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            for chunk in chunks {
                stream.write_all(&chunk).await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            stream
        });
        let (accepted, _) = listener.accept().await.unwrap();
        let is_http2 = tokio::time::timeout(Duration::from_secs(5), speaks_http2(&accepted)).await.unwrap().unwrap();
        let _client = client.await.unwrap();
        let mut waiting = [0u8; 64];
        (is_http2, accepted.peek(&mut waiting).await.unwrap())
    }

    #[tokio::test]
    async fn the_protocol_is_told_without_consuming_the_first_bytes() {
        let request: &[u8] = b"GET / HTTP/1.1\r\n\r\n";
        assert_eq!(detect(&[request]).await, (false, request.len()));
        assert_eq!(detect(&[HTTP2_PREFACE]).await, (true, HTTP2_PREFACE.len()));
        assert_eq!(detect(&[&HTTP2_PREFACE[..5], &HTTP2_PREFACE[5..]]).await, (true, HTTP2_PREFACE.len()));
        assert_eq!(detect(&[b"PRX"]).await, (false, 3));
    }

    /// Regression: part of the preface followed by silence used to be peeked at every millisecond.
    #[tokio::test]
    async fn a_silent_half_preface_is_not_polled_while_it_stays_silent() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        client.write_all(&HTTP2_PREFACE[..5]).await.unwrap();
        let mut polls = 0;
        let mut detection = std::pin::pin!(speaks_http2(&accepted));
        let silence = tokio::time::sleep(Duration::from_millis(300));
        tokio::pin!(silence);
        std::future::poll_fn(|cx| {
            polls += 1;
            assert!(detection.as_mut().poll(cx).is_pending(), "nothing to decide yet");
            silence.as_mut().poll(cx)
        })
        .await;
        // The first poll, the one after the first bytes, a spurious one or two, the timer's: not 300.
        assert!(polls < 10, "polled {polls} times during 300 ms of silence");
        client.write_all(&HTTP2_PREFACE[5..]).await.unwrap();
        assert!(tokio::time::timeout(Duration::from_secs(5), detection).await.unwrap().unwrap());
    }

    /// Part of the preface, then the client's side closed: the answer comes at once (the socket stays
    /// readable for good, and a wait on it would spin until the head deadline).
    #[tokio::test]
    async fn part_of_the_preface_then_a_close_is_not_http2_and_does_not_spin() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(b"PRI").await.unwrap();
            stream.shutdown().await.unwrap();
            stream
        });
        let (accepted, _) = listener.accept().await.unwrap();
        let _client = client.await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let answer = tokio::time::timeout(Duration::from_secs(5), speaks_http2(&accepted)).await;
        assert!(!answer.expect("an answer, not a spin").unwrap());
    }
}
