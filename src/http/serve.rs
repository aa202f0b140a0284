//! The HTTP server loop: the router on hyper HTTP/1 connections, with the
//! guards `axum::serve` lacks, so that slow clients cannot starve the
//! service (`[server]` in the configuration):
//!
//! * **header-read timeout**: a request's headers must arrive within
//!   `header_read_secs` of its first byte (on a new connection, of the
//!   connection's opening), or the connection is closed: slowloris and
//!   half-open connections are dropped;
//! * **idle timeout**: a kept-alive connection with nothing in flight and
//!   nothing sent or received for `idle_secs` is closed;
//! * **connection cap**: at most `max_connections` open at once; one more
//!   is answered `503` and closed at once, so the process never reaches its
//!   open-file limit (raised to the hard limit at start, and the cap kept
//!   below it) and `/healthz` and the webhooks keep being answered.
//!
//! A request being handled is bounded by the router's own timeout instead.
//! The timers are checked every quarter of the header-read timeout, so a
//! connection is cut between one and one and a quarter times its limit.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

use crate::config::ServerSettings;

/// File descriptors kept for everything but client connections: database
/// connections and files, outgoing requests to the platforms, logs.
pub const RESERVED_FDS: u64 = 256;

/// Excess connections answered 503 at once; past this they are closed
/// without an answer (each answer holds its socket for up to a second).
const SHED_AT_ONCE: usize = 256;

/// The answer to a connection over the cap.
const OVERLOADED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 53\r\n\
\r\n\
{\"error\":\"too many open connections, try again soon\"}";

/// The limits one server runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_read: Duration,
    pub idle: Duration,
    pub max_connections: usize,
}

impl Limits {
    /// The configured limits, the cap lowered to fit under `nofile` (the
    /// soft open-file limit, when known) less [`RESERVED_FDS`].
    pub fn new(s: &ServerSettings, nofile: Option<u64>) -> Limits {
        let fits = nofile.map_or(usize::MAX, |n| {
            usize::try_from(n.saturating_sub(RESERVED_FDS).max(1)).unwrap_or(usize::MAX)
        });
        Limits {
            header_read: Duration::from_secs(s.header_read_secs),
            idle: Duration::from_secs(s.idle_secs),
            max_connections: s.max_connections.min(fits),
        }
    }

    /// How often a connection's timers are looked at.
    fn tick(&self) -> Duration {
        (self.header_read / 4).max(Duration::from_millis(50))
    }
}

/// Raises this process's soft open-file limit to its hard limit (as Go's
/// runtime does) and returns the soft limit now in force.
pub fn raise_open_file_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write `lim`.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    (lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur)
}

/// Serves `router` on `listener` within `limits` until `shutdown`
/// resolves; then stops accepting, lets the requests in flight finish and
/// closes idle connections, and returns when every connection is closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let shedding = Arc::new(Semaphore::new(SHED_AT_ONCE));
    let (stop_tx, _) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors (EMFILE/ENFILE) or a
                    // connection gone before it was taken: wait a little
                    // rather than spin, and go on.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => {
                tokio::spawn(connection(
                    stream,
                    router.clone(),
                    limits,
                    permit,
                    stop_tx.subscribe(),
                ));
            }
            Err(_) => {
                if let Ok(slot) = Arc::clone(&shedding).try_acquire_owned() {
                    tokio::spawn(shed(stream, slot));
                }
                // else: dropped, closing it unanswered.
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a receiver until it has closed.
    stop_tx.closed().await;
}

/// Answers 503 and closes. The client's request is read and discarded for
/// up to a second first: closing a socket with unread input sends a reset,
/// which could destroy the answer before the client reads it.
async fn shed(mut stream: TcpStream, _slot: OwnedSemaphorePermit) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(OVERLOADED).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}

/// "Not yet" for [`Activity::first_byte`].
const NONE: u64 = u64::MAX;

/// What one connection has been doing, in milliseconds since it opened.
struct Activity {
    opened: Instant,
    /// Requests being handled.
    busy: AtomicUsize,
    /// Requests answered.
    served: AtomicU64,
    /// Since when it has been waiting for a request (or sending the last answer).
    waiting_since: AtomicU64,
    /// The first byte of the next request's head, or [`NONE`].
    first_byte: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            opened: Instant::now(),
            busy: AtomicUsize::new(0),
            served: AtomicU64::new(0),
            waiting_since: AtomicU64::new(0),
            first_byte: AtomicU64::new(NONE),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    /// When the connection is to be closed, if nothing happens before; `None`
    /// while a request is being handled.
    fn deadline(&self, limits: &Limits) -> Option<u64> {
        if self.busy.load(Ordering::Acquire) > 0 {
            return None;
        }
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(NONE - 1);
        let since = self.waiting_since.load(Ordering::Acquire);
        if self.served.load(Ordering::Acquire) == 0 {
            // A new connection: its first request's head, from the opening.
            return Some(since.saturating_add(ms(limits.header_read)));
        }
        let first = self.first_byte.load(Ordering::Acquire);
        if first != NONE {
            return Some(first.saturating_add(ms(limits.header_read)));
        }
        Some(since.saturating_add(ms(limits.idle)))
    }
}

/// Marks a request in the service; dropped when its answer is ready (or
/// the request is abandoned).
struct Busy(Arc<Activity>);

impl Busy {
    fn start(a: Arc<Activity>) -> Busy {
        a.busy.fetch_add(1, Ordering::AcqRel);
        Busy(a)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let a = &self.0;
        a.served.fetch_add(1, Ordering::AcqRel);
        a.waiting_since.store(a.now(), Ordering::Release);
        a.first_byte.store(NONE, Ordering::Release);
        a.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A socket that notes when bytes come and go.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            let a = &self.activity;
            if a.busy.load(Ordering::Acquire) == 0 && a.first_byte.load(Ordering::Acquire) == NONE {
                a.first_byte.store(a.now(), Ordering::Release);
            }
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            // An answer still going out to a slow reader is progress, not idling.
            let a = &self.activity;
            if a.busy.load(Ordering::Acquire) == 0 {
                a.waiting_since.store(a.now(), Ordering::Release);
            }
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            let a = &self.activity;
            if a.busy.load(Ordering::Acquire) == 0 {
                a.waiting_since.store(a.now(), Ordering::Release);
            }
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// One connection, from its first byte to its close.
async fn connection(
    stream: TcpStream,
    router: Router,
    limits: Limits,
    _permit: OwnedSemaphorePermit,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let in_service = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let busy = Busy::start(Arc::clone(&in_service));
        let router = router.clone();
        async move {
            let answer = router.oneshot(req).await;
            drop(busy);
            answer
        }
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let mut stopping = false;
    loop {
        let wait = match activity.deadline(&limits) {
            Some(at) => {
                let now = activity.now();
                if now >= at {
                    tracing::debug!("closing a slow or idle connection");
                    return;
                }
                Duration::from_millis(at - now).min(limits.tick())
            }
            None => limits.tick(),
        };
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep(wait) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_under_the_open_file_limit() {
        let s = ServerSettings {
            header_read_secs: 10,
            idle_secs: 60,
            max_connections: 4096,
        };
        assert_eq!(Limits::new(&s, None).max_connections, 4096);
        assert_eq!(Limits::new(&s, Some(1_048_576)).max_connections, 4096);
        assert_eq!(Limits::new(&s, Some(1024)).max_connections, 768);
        assert_eq!(Limits::new(&s, Some(100)).max_connections, 1);
        assert_eq!(Limits::new(&s, None).header_read, Duration::from_secs(10));
    }

    #[test]
    fn deadlines_follow_what_the_connection_does() {
        let limits = Limits {
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            max_connections: 1,
        };
        let a = Arc::new(Activity::new());
        // A new connection must start its request within the header timeout.
        assert_eq!(a.deadline(&limits), Some(10_000));
        a.first_byte.store(3_000, Ordering::Release);
        assert_eq!(
            a.deadline(&limits),
            Some(10_000),
            "counted from the opening"
        );
        let busy = Busy::start(Arc::clone(&a));
        assert_eq!(a.deadline(&limits), None, "a request in the service");
        drop(busy);
        let done = a.waiting_since.load(Ordering::Acquire);
        assert_eq!(a.deadline(&limits), Some(done + 60_000), "then idle");
        a.first_byte.store(done + 5_000, Ordering::Release);
        assert_eq!(a.deadline(&limits), Some(done + 15_000), "the next head");
    }
}
