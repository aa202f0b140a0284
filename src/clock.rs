//! Time as a dependency: production reads the system clock, tests step a fixed one.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeZone, Utc};

/// A source of the current instant (UTC).
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Milliseconds since the Unix epoch, as stored in the database.
    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until told to move; shared by clones.
#[derive(Debug, Clone)]
pub struct FixedClock {
    ms: Arc<AtomicI64>,
}

impl FixedClock {
    pub fn at(t: DateTime<Utc>) -> Self {
        Self {
            ms: Arc::new(AtomicI64::new(t.timestamp_millis())),
        }
    }

    pub fn set(&self, t: DateTime<Utc>) {
        self.ms.store(t.timestamp_millis(), Ordering::SeqCst);
    }

    pub fn advance(&self, d: chrono::Duration) {
        self.ms.fetch_add(d.num_milliseconds(), Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.ms.load(Ordering::SeqCst))
            .single()
            .unwrap_or_default()
    }
}

/// Shared handle used throughout the app.
pub type SharedClock = Arc<dyn Clock>;
