//! Hostile WebSocket clients on raw sockets, frames written by hand: the server answers each breach of
//! RFC 6455 with its close code — a text frame that is not UTF-8 (1007), an unmasked frame, a
//! fragmented or oversized control frame, a continuation with nothing to continue (1002), a frame or a
//! message over the configured limits (1009) — then ends the connection; a well-formed exchange on the
//! same helpers shows that the frames are right.

use sisk::prelude::*;
use sisk_tests::{closed_within, TestServer, LIMIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CONTINUATION: u8 = 0x0;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;

/// An echo server whose limits are small: frames of 1 KiB, messages of 2 KiB.
fn server() -> TestServer {
    let mut router = Router::new();
    router.map_get("/echo", |req: HttpRequest| async move {
        let ws = req.get_web_socket(None).await?;
        while let Some(message) = ws.receive_message(None).await {
            ws.send_async(message).await;
        }
        Ok::<_, sisk::Error>(ws.close().await)
    });
    TestServer::with(router, |config| {
        config.web_socket_max_frame_size = 1024;
        config.web_socket_max_message_size = 2048;
    })
}

/// A connection to `/echo` past its handshake.
async fn upgraded(server: &TestServer) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(
            b"GET /echo HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        )
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        tokio::time::timeout(LIMIT, stream.read_exact(&mut byte)).await.unwrap().unwrap();
        head.push(byte[0]);
        assert!(head.len() < 4096, "a head that never ends");
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
    stream
}

/// One frame as a client writes it: masked unless `masked` is false.
fn frame(fin: bool, opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= 0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, byte)| byte ^ key[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// The next frame the server sends: its opcode and payload (server frames are never masked).
async fn read_frame(stream: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let read = async {
        let mut header = [0u8; 2];
        stream.read_exact(&mut header).await.ok()?;
        assert_eq!(header[1] & 0x80, 0, "a server frame is not masked");
        let length = match header[1] & 0x7f {
            126 => {
                let mut n = [0u8; 2];
                stream.read_exact(&mut n).await.ok()?;
                u64::from(u16::from_be_bytes(n))
            }
            127 => {
                let mut n = [0u8; 8];
                stream.read_exact(&mut n).await.ok()?;
                u64::from_be_bytes(n)
            }
            n => u64::from(n),
        };
        let mut payload = vec![0; usize::try_from(length).ok()?];
        stream.read_exact(&mut payload).await.ok()?;
        Some((header[0] & 0x0f, payload))
    };
    tokio::time::timeout(LIMIT, read).await.expect("the server sends a frame or closes in time")
}

/// The code of the close frame the server sends, then checks that it ends the connection.
async fn close_code(stream: &mut TcpStream) -> u16 {
    for _ in 0..100 {
        match read_frame(stream).await {
            Some((CLOSE, payload)) => {
                assert!(payload.len() >= 2, "a close frame with a code");
                assert!(closed_within(stream, LIMIT).await, "the connection ends after the close frame");
                return u16::from_be_bytes([payload[0], payload[1]]);
            }
            Some(_) => continue,
            None => panic!("the connection ended without a close frame"),
        }
    }
    panic!("no close frame in 100 frames")
}

#[tokio::test]
async fn well_formed_frames_are_echoed_and_a_close_is_answered_with_its_code() {
    let server = server();
    let mut stream = upgraded(&server).await;
    stream.write_all(&frame(true, TEXT, "olá".as_bytes(), true)).await.unwrap();
    assert_eq!(read_frame(&mut stream).await, Some((TEXT, "olá".as_bytes().to_vec())));
    // A message in three fragments, a ping between them.
    stream.write_all(&frame(false, BINARY, b"ab", true)).await.unwrap();
    stream.write_all(&frame(true, PING, b"p", true)).await.unwrap();
    stream.write_all(&frame(false, CONTINUATION, b"cd", true)).await.unwrap();
    stream.write_all(&frame(true, CONTINUATION, b"ef", true)).await.unwrap();
    assert_eq!(read_frame(&mut stream).await, Some((0xA, b"p".to_vec())), "the ping is answered first");
    assert_eq!(read_frame(&mut stream).await, Some((BINARY, b"abcdef".to_vec())));
    stream.write_all(&frame(true, CLOSE, &1000u16.to_be_bytes(), true)).await.unwrap();
    assert_eq!(close_code(&mut stream).await, 1000);
}

#[tokio::test]
async fn a_text_frame_that_is_not_utf8_closes_with_1007() {
    let server = server();
    let mut stream = upgraded(&server).await;
    stream.write_all(&frame(true, TEXT, &[b'a', 0xff, 0xfe], true)).await.unwrap();
    assert_eq!(close_code(&mut stream).await, 1007);
}

#[tokio::test]
async fn an_unmasked_client_frame_closes_with_1002() {
    let server = server();
    let mut stream = upgraded(&server).await;
    stream.write_all(&frame(true, TEXT, b"unmasked", false)).await.unwrap();
    assert_eq!(close_code(&mut stream).await, 1002);
}

#[tokio::test]
async fn a_fragmented_control_frame_closes_with_1002() {
    let server = server();
    let mut stream = upgraded(&server).await;
    stream.write_all(&frame(false, PING, b"half a ping", true)).await.unwrap();
    assert_eq!(close_code(&mut stream).await, 1002);
}

#[tokio::test]
async fn a_control_frame_over_125_bytes_closes_with_1002() {
    let server = server();
    let mut stream = upgraded(&server).await;
    stream.write_all(&frame(true, PING, &[b'p'; 126], true)).await.unwrap();
    assert_eq!(close_code(&mut stream).await, 1002);
}

#[tokio::test]
async fn a_continuation_with_nothing_to_continue_closes_with_1002() {
    let server = server();
    let mut stream = upgraded(&server).await;
    stream.write_all(&frame(true, CONTINUATION, b"orphan", true)).await.unwrap();
    assert_eq!(close_code(&mut stream).await, 1002);
}

#[tokio::test]
async fn a_frame_over_the_frame_limit_closes_with_1009() {
    let server = server();
    let mut stream = upgraded(&server).await;
    stream.write_all(&frame(true, BINARY, &[7; 1500], true)).await.unwrap();
    assert_eq!(close_code(&mut stream).await, 1009);
}

#[tokio::test]
async fn a_message_over_the_message_limit_closes_with_1009_even_in_small_frames() {
    let server = server();
    let mut stream = upgraded(&server).await;
    stream.write_all(&frame(false, TEXT, &[b'a'; 1000], true)).await.unwrap();
    stream.write_all(&frame(false, CONTINUATION, &[b'b'; 1000], true)).await.unwrap();
    stream.write_all(&frame(true, CONTINUATION, &[b'c'; 1000], true)).await.unwrap();
    assert_eq!(close_code(&mut stream).await, 1009);
}

#[tokio::test]
async fn a_frame_that_claims_a_huge_length_is_refused_before_its_payload() {
    let server = server();
    let mut stream = upgraded(&server).await;
    // The header of a 1 TiB frame, and nothing after it: the server must not wait for (or allocate) it.
    let mut header = vec![0x80 | BINARY, 0x80 | 127];
    header.extend_from_slice(&(1u64 << 40).to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    stream.write_all(&header).await.unwrap();
    assert_eq!(close_code(&mut stream).await, 1009);
}

/// A WebSocket over an HTTP/2 stream (RFC 8441): the server announces extended `CONNECT`, accepts
/// `:protocol = websocket` on the same route with `200`, and the frames flow on the stream's data.
#[tokio::test]
async fn a_websocket_over_http2_extended_connect_echoes_and_closes() {
    let server = server();
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    let driver = tokio::spawn(connection);
    let mut client = tokio::time::timeout(LIMIT, client.ready()).await.unwrap().unwrap();
    // The server's SETTINGS may come after the handshake returns.
    for _ in 0..500 {
        if client.is_extended_connect_protocol_enabled() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(client.is_extended_connect_protocol_enabled(), "SETTINGS_ENABLE_CONNECT_PROTOCOL is sent");
    let request = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(format!("http://{}/echo", server.addr))
        .extension(h2::ext::Protocol::from("websocket"))
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap();
    let (response, mut send) = client.send_request(request, false).unwrap();
    let response = tokio::time::timeout(LIMIT, response).await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    send.send_data(bytes::Bytes::from(frame(true, TEXT, b"over h2", true)), false).unwrap();
    let mut received = Vec::new();
    let expected = [&[0x80 | TEXT, 7][..], b"over h2"].concat();
    while received.len() < expected.len() {
        let chunk = tokio::time::timeout(LIMIT, body.data()).await.unwrap().expect("data").unwrap();
        let _ = body.flow_control().release_capacity(chunk.len());
        received.extend_from_slice(&chunk);
    }
    assert_eq!(received, expected, "the echo, in one unmasked text frame");
    send.send_data(bytes::Bytes::from(frame(true, CLOSE, &1000u16.to_be_bytes(), true)), false).unwrap();
    let mut closing = Vec::new();
    while closing.len() < 4 {
        match tokio::time::timeout(LIMIT, body.data()).await.unwrap() {
            Some(Ok(chunk)) => closing.extend_from_slice(&chunk),
            _ => break,
        }
    }
    assert_eq!(closing, [0x80 | CLOSE, 2, 0x03, 0xe8], "the close answered with 1000");
    driver.abort();
}
