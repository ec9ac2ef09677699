//! Connection limits over raw TCP: a client that never finishes its request headers (sending nothing, half a
//! request line, or one byte at a time) is disconnected after the header read timeout, and connections beyond
//! the cap wait until a served one closes.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::both_backends;
use crate::support::{Backend, TestServer};

/// How long a test waits for something the server must do within a second or two; long, so that a busy
/// machine does not fail the test.
const DEADLINE: Duration = Duration::from_secs(30);

const HEALTH_REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: onramp\r\nConnection: close\r\n\r\n";

fn address(server: &TestServer) -> String {
    server.base_url.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection (end of file or a reset), and returns what it sent; panics
/// if it is still open after [`DEADLINE`].
async fn read_until_closed(case: &str, stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let outcome = timeout(DEADLINE, async {
        let mut buffer = [0u8; 1024];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(outcome.is_ok(), "{case}: the server kept the connection open for {DEADLINE:?}");
    received
}

async fn slow_headers_are_cut_off(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.connections.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    let addr = address(&server);

    let mut silent = TcpStream::connect(&addr).await.unwrap();
    read_until_closed("a connection that sends nothing", &mut silent).await;

    let mut partial = TcpStream::connect(&addr).await.unwrap();
    partial.write_all(b"GET /healthz HT").await.unwrap();
    read_until_closed("half a request line, then nothing", &mut partial).await;

    // One byte of a header every 100 ms: each byte arrives well within a second, but the headers never end.
    let mut dribble = TcpStream::connect(&addr).await.unwrap();
    dribble.write_all(b"GET /healthz HTTP/1.1\r\nHost: onramp\r\nX-Slow: ").await.unwrap();
    let (mut reader, mut writer) = dribble.into_split();
    let writing = tokio::spawn(async move {
        while writer.write_all(b"a").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let closed = timeout(DEADLINE, async {
        let mut buffer = [0u8; 1024];
        while matches!(reader.read(&mut buffer).await, Ok(n) if n > 0) {}
    })
    .await;
    writing.abort();
    assert!(closed.is_ok(), "headers dribbled a byte at a time: the server kept the connection for {DEADLINE:?}");

    // A client that sends its request in time is served as before.
    let mut prompt = TcpStream::connect(&addr).await.unwrap();
    prompt.write_all(HEALTH_REQUEST).await.unwrap();
    let response = read_until_closed("a prompt request", &mut prompt).await;
    assert!(response.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&response));
}
both_backends!(slow_headers_are_cut_off);

async fn connections_beyond_the_cap_wait(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.connections.max_connections = 2;
        config.connections.header_read_timeout = Duration::from_secs(120);
    })
    .await;
    let addr = address(&server);
    // Two idle connections take both places. The listen queue is first in, first out, so they are accepted
    // before the third.
    let first = TcpStream::connect(&addr).await.unwrap();
    let _second = TcpStream::connect(&addr).await.unwrap();

    let mut third = TcpStream::connect(&addr).await.unwrap();
    third.write_all(HEALTH_REQUEST).await.unwrap();
    let mut buffer = [0u8; 64];
    // A wait that can only make the test pass wrongly on a very slow machine, never fail it wrongly.
    let early = timeout(Duration::from_millis(500), third.read(&mut buffer)).await;
    assert!(early.is_err(), "a third connection was served while two held the cap of 2: {early:?}");

    drop(first);
    let response = read_until_closed("the third connection, once the first closed", &mut third).await;
    assert!(response.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&response));
}
both_backends!(connections_beyond_the_cap_wait);
