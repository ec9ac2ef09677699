//! Serving HTTP/1.1 connections from a listener under [`ConnectionLimits`], with graceful shutdown.
//!
//! `axum::serve` sets no timer on hyper's connections, so hyper's header read timeout never fires and a
//! client that sends half a request line keeps its connection (and its file descriptor) forever; it also
//! accepts without limit. Here every connection gets hyper's header read timeout (which also closes a
//! kept-alive connection that sends no next request in time), and a connection is accepted only while fewer
//! than `max_connections` are open: the rest wait in the kernel's listen queue, as with a limited listener
//! in other servers, rather than being refused outright.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::util::ServiceExt;

use crate::config::ConnectionLimits;

/// How long to pause after an accept error (out of file descriptors, say) before accepting again, so that
/// the loop does not spin while the condition lasts.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting, lets each connection finish
/// its request in flight, and returns once all are closed. Handlers see the peer as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let places = Arc::new(Semaphore::new(limits.max_connections));
    // Connections hold a receiver each: they watch it for the shutdown, and the server waits for all of
    // them to drop it.
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let place = tokio::select! {
            place = places.clone().acquire_owned() => place.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                let router = router.clone();
                async move { Ok::<_, Infallible>(router.oneshot(request).await.unwrap_or_else(|never| match never {})) }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                served = connection.as_mut() => log_connection_end(served, peer),
                _ = stopping.changed() => {
                    // Finishes the request in flight, if any, then closes; an idle connection closes now.
                    connection.as_mut().graceful_shutdown();
                    log_connection_end(connection.await, peer);
                }
            }
            drop(place);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    drop(stopping);
    stop.closed().await;
    Ok(())
}

/// Connection errors are the client's doing (a reset, headers too slow or malformed): not worth a warning.
fn log_connection_end(served: hyper::Result<()>, peer: SocketAddr) {
    if let Err(error) = served {
        tracing::debug!(%error, %peer, "connection ended with an error");
    }
}
