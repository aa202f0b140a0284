//! What the transports share: [`AppState`] (the database, settings, clock,
//! jobs and outbox worker every handler reaches), and the one turn every
//! transport takes a message through ([`answer`]). Below `http` and `app`,
//! so that both can name it without importing each other; the DingTalk
//! Stream client reaches it only through [`crate::platform::Handler`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono_tz::Tz;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::bot::{self, Outcome};
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::domain::calendar::HolidayCalendar;
use crate::jobs::JobCtx;
use crate::outbox::worker::Worker;
use crate::platform::send::Senders;
use crate::platform::{Answer, Handler, Inbound};
use crate::reply;
use crate::store::Db;
use crate::telemetry;

/// What every handler shares: one pointer, so that the clone axum makes for
/// every request is one reference count.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub clock: SharedClock,
    pub default_tz: Tz,
    pub metrics: PrometheusHandle,
    pub jobs: JobCtx,
    pub worker: Worker,
    /// Every bot's sender (the outbox worker holds the same).
    pub senders: Arc<Senders>,
}

/// The bundled holiday calendar with the admins' corrections from the database.
pub async fn load_calendar(db: &Db) -> anyhow::Result<HolidayCalendar> {
    let mut cal = HolidayCalendar::bundled();
    let years = db
        .read(|tx| Box::pin(async move { crate::store::jobs::calendar_years(tx).await }))
        .await?;
    for (year, data) in years {
        match toml::from_str::<crate::domain::calendar::YearData>(&data) {
            Ok(y) => {
                if let Err(e) = cal.set_year(i32::try_from(year).unwrap_or_default(), y) {
                    tracing::error!(year, error = %e, "stored calendar correction is invalid; ignored");
                }
            }
            Err(e) => {
                tracing::error!(year, error = %e, "stored calendar correction does not parse; ignored")
            }
        }
    }
    Ok(cal)
}

/// Years around `now` that have no holiday data (plain weekends are used).
pub fn calendar_gaps(cal: &HolidayCalendar, now: chrono::DateTime<chrono::Utc>) -> Vec<i32> {
    use chrono::Datelike;
    let y = now.year();
    [y, y + 1]
        .into_iter()
        .filter(|y| !cal.has_year(*y))
        .collect()
}

/// Runs one message through [`bot::handle`] with the state's clock, and
/// counts it under `platform` (the transport's metric label). Shared by the
/// HTTP callbacks and the DingTalk Stream client so all count alike.
pub async fn answer(state: &AppState, platform: &'static str, inbound: Inbound) -> Answer {
    use tracing::Instrument;
    let span = tracing::info_span!("callback", platform, msg_id = %inbound.msg_id,
        conversation = %inbound.conversation_id);
    let handled = bot::handle(
        &state.db,
        &state.settings,
        &state.jobs.calendar,
        state.default_tz,
        state.clock.now(),
        inbound,
    )
    .instrument(span)
    .await;
    match handled {
        Ok(h) => {
            let duplicate = match h.outcome {
                Outcome::Duplicate => {
                    telemetry::callback(platform, "duplicate");
                    true
                }
                Outcome::Handled(kind) => {
                    telemetry::callback(platform, "ok");
                    telemetry::command(
                        kind.map(crate::command::CommandKind::label)
                            .unwrap_or("none"),
                    );
                    false
                }
            };
            Answer {
                reply: h.reply,
                duplicate,
                failed: false,
            }
        }
        Err(e) => {
            tracing::error!(platform, error = %e, "handling a message failed; nothing was stored");
            telemetry::callback(platform, "error");
            Answer {
                reply: reply::try_again_later(),
                duplicate: false,
                failed: true,
            }
        }
    }
}

/// The Stream client's way into the bot.
impl Handler for AppState {
    fn answer(
        &self,
        transport: &'static str,
        inbound: Inbound,
    ) -> Pin<Box<dyn Future<Output = Answer> + Send + '_>> {
        Box::pin(answer(self, transport, inbound))
    }

    fn count(&self, transport: &'static str, outcome: &'static str) {
        telemetry::callback(transport, outcome);
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}
