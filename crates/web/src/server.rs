//! The HTTP/1.1 accept loop with the limits a public-facing server needs
//! (issue #10, item 5): a header-read timeout, a request timeout, a global
//! and a per-address cap on open connections. A connection over a cap is
//! closed as soon as it is accepted and counted in `/metrics`, so the web
//! side never holds more than `http.max_connections` file descriptors and
//! the HJ 212 listener keeps its own budget.
//!
//! HTTP/2 is not served: browsers speak it only over TLS, and a TLS proxy in
//! front of the platform speaks HTTP/1.1 to it.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gongjian_config::HttpConfig;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

use crate::{AppState, Metrics};

/// Connection and time limits of the web server, from `[http]`.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub upload_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
}

impl HttpLimits {
    pub fn from_config(http: &HttpConfig) -> HttpLimits {
        HttpLimits {
            header_read_timeout: Duration::from_secs(http.header_read_timeout_secs),
            request_timeout: Duration::from_secs(http.request_timeout_secs),
            upload_timeout: Duration::from_secs(http.upload_timeout_secs),
            max_connections: http.max_connections as usize,
            max_connections_per_address: http.max_connections_per_address as usize,
        }
    }
}

/// Bodies above this size (or of unknown size, or multipart) are uploads
/// and get `upload_timeout` instead of `request_timeout`.
const UPLOAD_THRESHOLD: u64 = 64 * 1024;

fn is_upload(req: &Request) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let headers = req.headers();
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/"));
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    multipart || length.is_none_or(|n| n > UPLOAD_THRESHOLD)
}

/// Middleware: answer 408 when reading the body and handling a request take
/// longer than the request (or upload) timeout.
pub(crate) async fn request_timeout(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let limits = &state.settings.http;
    let limit = if is_upload(&req) {
        limits.upload_timeout
    } else {
        limits.request_timeout
    };
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            state
                .metrics
                .requests_timed_out
                .fetch_add(1, Ordering::Relaxed);
            (
                StatusCode::REQUEST_TIMEOUT,
                [(header::CONNECTION, "close")],
                format!("请求超时：{} 秒内未完成，请稍后重试", limit.as_secs()),
            )
                .into_response()
        }
    }
}

/// The key connections are counted under: the address, IPv4-mapped IPv6
/// as IPv4, other IPv6 by its /64 (one host usually owns a whole /64).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
        }
        v4 => v4,
    }
}

/// Open connections, globally and per address.
struct Slots {
    global: Arc<Semaphore>,
    per_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max_per_address: usize,
}

/// One open connection; frees its place when dropped.
struct Slot {
    _permit: OwnedSemaphorePermit,
    key: IpAddr,
    per_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
    metrics: Arc<Metrics>,
}

enum Refused {
    Global,
    PerAddress,
}

impl Slots {
    fn new(limits: &HttpLimits) -> Slots {
        Slots {
            global: Arc::new(Semaphore::new(limits.max_connections)),
            per_address: Arc::default(),
            max_per_address: limits.max_connections_per_address,
        }
    }

    fn acquire(&self, ip: IpAddr, metrics: &Arc<Metrics>) -> Result<Slot, Refused> {
        let permit = self
            .global
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refused::Global)?;
        let key = address_key(ip);
        {
            let mut map = self.per_address.lock().unwrap_or_else(|e| e.into_inner());
            let n = map.entry(key).or_insert(0);
            if *n >= self.max_per_address {
                return Err(Refused::PerAddress);
            }
            *n += 1;
        }
        metrics.connections_open.fetch_add(1, Ordering::Relaxed);
        Ok(Slot {
            _permit: permit,
            key,
            per_address: self.per_address.clone(),
            metrics: metrics.clone(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.per_address.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
        self.metrics
            .connections_open
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// Accept connections until `shutdown` resolves, then stop accepting and
/// wait for the open connections to finish their requests.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Slots::new(&limits);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors or a connection reset before
                    // accept: wait a little rather than spin.
                    tracing::warn!(error = %e, "web accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = match slots.acquire(peer.ip(), &metrics) {
            Ok(slot) => slot,
            Err(why) => {
                let counter = match why {
                    Refused::Global => &metrics.connections_refused_global,
                    Refused::PerAddress => &metrics.connections_refused_per_address,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                drop(stream);
                continue;
            }
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            router.clone().oneshot(req)
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "web connection ended");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_counted_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        let m: IpAddr = "::ffff:10.0.0.7".parse().unwrap();
        assert_eq!(address_key(m), "10.0.0.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn slots_refuse_beyond_each_cap_and_free_on_drop() {
        let limits = HttpLimits {
            header_read_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
            upload_timeout: Duration::from_secs(1),
            max_connections: 3,
            max_connections_per_address: 2,
        };
        let metrics = Arc::new(Metrics::default());
        let slots = Slots::new(&limits);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = slots.acquire(a, &metrics).ok().unwrap();
        let _a2 = slots.acquire(a, &metrics).ok().unwrap();
        assert!(matches!(
            slots.acquire(a, &metrics),
            Err(Refused::PerAddress)
        ));
        let _b1 = slots.acquire(b, &metrics).ok().unwrap();
        assert!(matches!(slots.acquire(b, &metrics), Err(Refused::Global)));
        drop(a1);
        let _a3 = slots.acquire(a, &metrics).ok().unwrap();
        assert_eq!(metrics.connections_open.load(Ordering::Relaxed), 3);
    }
}
