//! The benchmarks' HTTP/1.1 client: hyper's client connection (`hyper::client::conn::http1`) over one TCP
//! connection of our own, kept alive from request to request, driven in the task that sends on it.
//!
//! Why this and not a pooled client (hyper-util's `Client`, reqwest): a load generator must decide which
//! connection each request goes on (N tasks, N keep-alive connections, each sending its next request only
//! when the last answer is read in full), so that the figure is the server's at N concurrent connections and
//! not a pool's policy on opening and retiring them. The connection is that and no more, and hyper, which
//! the server already runs on, does the protocol (framing, chunked bodies, `Connection: close`) instead of a
//! parser of our own. The connection's I/O is polled in the sending task itself rather than in a task of its
//! own, so that a request costs the load generator, which shares the machine with the server, no extra
//! task switches. The time a request takes is measured, as before this client, from handing it over to
//! having the whole body.

use std::net::SocketAddr;
use std::pin::Pin;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{AUTHORIZATION, CONNECTION, CONTENT_TYPE, COOKIE, HOST, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::Result;

type Io = TokioIo<TcpStream>;

/// One keep-alive HTTP/1.1 connection to a server.
pub struct Connection {
    host: HeaderValue,
    sender: http1::SendRequest<Full<Bytes>>,
    /// Reads and writes the socket; polled while a request is in flight.
    io: Pin<Box<http1::Connection<Io, Full<Bytes>>>>,
    /// The connection ended (the server closed it, or it failed); it takes no more requests.
    ended: bool,
}

/// A response read in full.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Bytes,
    /// The server closes the connection after this response.
    pub close: bool,
}

impl Response {
    /// The start of the body as text, for error messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).chars().take(2000).collect()
    }
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> Result<Connection> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, io) = http1::handshake(TokioIo::new(stream)).await?;
        Ok(Connection { host: HeaderValue::from_str(&addr.to_string())?, sender, io: Box::pin(io), ended: false })
    }

    /// A `POST` of `body` to `path`, with its content type and, if given, an `Authorization` header.
    pub fn post(
        &self,
        path: &str,
        content_type: &'static str,
        authorization: Option<&HeaderValue>,
        body: Bytes,
    ) -> Request<Full<Bytes>> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, content_type);
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        request.body(Full::new(body)).expect("a request of a valid path and headers")
    }

    /// A `GET` of `path` with, if given, a `Cookie` header.
    pub fn get(&self, path: &str, cookie: Option<&HeaderValue>) -> Request<Full<Bytes>> {
        let mut request = Request::builder().method(Method::GET).uri(path).header(HOST, self.host.clone());
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie.clone());
        }
        request.body(Full::new(Bytes::new())).expect("a request of a valid path and headers")
    }

    /// Sends `request` and reads the whole response.
    pub async fn send(&mut self, request: Request<Full<Bytes>>) -> Result<Response> {
        if self.ended {
            return Err("the connection has ended".into());
        }
        let sender = &mut self.sender;
        let exchange = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status().as_u16();
            let close = response.headers().get(CONNECTION).is_some_and(|value| value.as_bytes() == b"close");
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, crate::Error>(Response { status, body, close })
        };
        let mut exchange = std::pin::pin!(exchange);
        tokio::select! {
            biased;
            response = &mut exchange => response,
            ended = self.io.as_mut() => {
                // The connection ended; a response it delivered in full before that still counts.
                self.ended = true;
                ended?;
                exchange.await.map(|response| Response { close: true, ..response })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that answers two requests on one connection, the second with a chunked body and
    /// `Connection: close`, then closes it.
    async fn one_connection_server() -> SocketAddr {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut received = Vec::new();
            let mut buffer = [0u8; 4096];
            let answers: [&[u8]; 2] = [
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
                b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
                  3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
            ];
            for answer in answers {
                // Each request here ends with its 2-byte body "{}".
                while !received.ends_with(b"{}") {
                    let n = socket.read(&mut buffer).await.unwrap();
                    received.extend_from_slice(&buffer[..n]);
                }
                received.clear();
                socket.write_all(answer).await.unwrap();
            }
        });
        addr
    }

    #[tokio::test]
    async fn keeps_the_connection_alive_and_reads_both_framings() {
        let addr = one_connection_server().await;
        let mut connection = Connection::open(addr).await.unwrap();
        let token = HeaderValue::from_static("Bearer t");
        let request = connection.post("/a", "application/json", Some(&token), Bytes::from_static(b"{}"));
        let first = connection.send(request).await.unwrap();
        assert_eq!((first.status, &first.body[..], first.close), (200, &b"hello"[..], false));
        let request = connection.post("/b", "application/json", None, Bytes::from_static(b"{}"));
        let second = connection.send(request).await.unwrap();
        assert_eq!((second.status, &second.body[..], second.close), (400, &b"abcde"[..], true));
        let request = connection.post("/c", "application/json", None, Bytes::from_static(b"{}"));
        assert!(connection.send(request).await.is_err(), "the server closed the connection");
    }
}
