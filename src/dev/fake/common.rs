//! What both fake platform servers share: a clock a test can fix or step,
//! injected failures, added latency, and serving on loopback.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::StatusCode;

#[derive(Debug, Clone, Copy)]
enum Clock {
    System,
    Fixed(i64),
}

/// The knobs a test turns on a fake server; kept inside the server's state.
#[derive(Debug)]
pub(crate) struct Knobs {
    clock: Clock,
    fail_next: usize,
    fail_status: u16,
    latency: Duration,
    in_flight: InFlight,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            clock: Clock::System,
            fail_next: 0,
            fail_status: 503,
            latency: Duration::ZERO,
            in_flight: InFlight::default(),
        }
    }
}

impl Knobs {
    /// The fake clock in epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        match self.clock {
            Clock::Fixed(ms) => ms,
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        }
    }

    pub fn set_now_ms(&mut self, ms: i64) {
        self.clock = Clock::Fixed(ms);
    }

    /// Fixes the clock `ms` past its current reading.
    pub fn advance_ms(&mut self, ms: i64) {
        self.clock = Clock::Fixed(self.now_ms().saturating_add(ms));
    }

    pub fn use_system_clock(&mut self) {
        self.clock = Clock::System;
    }

    pub fn fail_next(&mut self, n: usize, status: u16) {
        self.fail_next = n;
        self.fail_status = status;
    }

    pub fn set_latency(&mut self, d: Duration) {
        self.latency = d;
    }

    pub fn latency(&self) -> Duration {
        self.latency
    }

    /// The requests now inside their added latency, and the most at once.
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.clone()
    }

    /// Consumes one injected failure, if any: the status to answer with.
    pub fn take_failure(&mut self) -> Option<StatusCode> {
        if self.fail_next == 0 {
            return None;
        }
        self.fail_next -= 1;
        Some(StatusCode::from_u16(self.fail_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE))
    }
}

/// Requests being answered at once: how many clients' sends are in flight
/// at the fake, seen from its side.
#[derive(Debug, Clone, Default)]
pub(crate) struct InFlight {
    now: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl InFlight {
    /// The most requests that were inside their latency at one time.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// Counts one request in flight until dropped (also when the client gives
/// up and the answer is never written).
struct Entered(InFlight);

impl Entered {
    fn new(gauge: InFlight) -> Entered {
        let now = gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
        gauge.peak.fetch_max(now, Ordering::SeqCst);
        Entered(gauge)
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Waits `latency` of real time (nothing when zero), counted in `gauge`
/// meanwhile.
pub(crate) async fn delay(latency: Duration, gauge: InFlight) {
    let _entered = Entered::new(gauge);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

/// Binds 127.0.0.1:0 and serves `app` in a tokio task until the runtime
/// shuts down.
pub(crate) async fn serve_on_loopback(
    app: Router,
    name: &'static str,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "fake {name} server stopped");
        }
    });
    Ok(addr)
}
