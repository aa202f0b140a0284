//! `TestApp::spawn(Backend)`: the real app on port 0 with a fresh database,
//! plus a chat driver that signs DingTalk callbacks like the platform does
//! (and, in `wecom`, one that encrypts WeCom callbacks; in `stream`, a fake
//! DingTalk Stream gateway).

#![allow(dead_code)]

pub mod process;
pub mod stream;
pub mod wecom;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use liancun::app::{App, AppState};
pub use liancun::clock::Clock;
use liancun::clock::FixedClock;
use liancun::config::Settings;
use liancun::dev::fake::dingtalk::FakeDingtalk;
use liancun::dev::fake::wecom::FakeWecom;
use liancun::jobs::scheduler::{Firing, Scheduler};
use liancun::outbox::worker::Delivered;
use liancun::platform::dingtalk::sign;
use liancun::store::{self, Db, StoreError};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const SECRET: &str = "test-app-secret-0123456789";
pub const BOT: &str = "jiangshan";
pub const APP_KEY: &str = "dingtestappkey";
pub const ROBOT_CODE: &str = "dingtestrobot";
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Why a PostgreSQL test that was built to run cannot: the build saw
/// `LIANCUN_TEST_PG`, the run does not.
pub const PG_UNSET: &str =
    "LIANCUN_TEST_PG is not set for this run, but the suite was built with it";

/// The PostgreSQL server for tests, if configured.
pub fn pg_admin_url() -> Option<String> {
    std::env::var("LIANCUN_TEST_PG")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A person in the test chat.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: &'static str,
    pub nick: &'static str,
    pub group_admin: bool,
}

pub const ADMIN: Person = Person {
    id: "guanli01",
    nick: "管理员",
    group_admin: true,
};
pub const ZHANGSAN: Person = Person {
    id: "zhangsan01",
    nick: "张三",
    group_admin: false,
};
pub const LISI: Person = Person {
    id: "lisi01",
    nick: "李四",
    group_admin: false,
};
pub const WANGWU: Person = Person {
    id: "wangwu01",
    nick: "王五",
    group_admin: false,
};
pub const ZHAOLIU: Person = Person {
    id: "zhaoliu01",
    nick: "赵六",
    group_admin: false,
};
pub const VILLAGERS: [Person; 4] = [
    Person {
        id: "cunmin01",
        nick: "村民甲",
        group_admin: false,
    },
    Person {
        id: "cunmin02",
        nick: "村民乙",
        group_admin: false,
    },
    Person {
        id: "cunmin03",
        nick: "村民丙",
        group_admin: false,
    },
    Person {
        id: "cunmin04",
        nick: "村民丁",
        group_admin: false,
    },
];
/// Listed in the test bot's `admins` (a bot admin), no DingTalk group admin.
pub const CITY: Person = Person {
    id: "city-admin",
    nick: "市委组织部",
    group_admin: false,
};
/// Everyone the driver can put into atUsers when their name follows @.
pub const ROSTER: [&Person; 5] = [&ADMIN, &ZHANGSAN, &LISI, &WANGWU, &ZHAOLIU];

/// Wednesday 2026-12-02 10:00 in Asia/Shanghai.
pub fn wednesday_10am() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 2, 0, 0).unwrap()
}

pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub client: reqwest::Client,
    pub clock: FixedClock,
    pub db: Db,
    pub state: AppState,
    pub fake: FakeDingtalk,
    /// The fake WeCom group-robot webhook (`[wecom] api_base`).
    pub wecom: FakeWecom,
    pub backend: Backend,
    database_url: String,
    /// TOML appended to the test settings (kept across a restart).
    extra_toml: String,
    conversation: String,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: Option<Arc<tempfile::TempDir>>,
}

static SEQ: AtomicU64 = AtomicU64::new(1);

fn settings_for(database_url: &str, fake: &str, fake_wecom: &str, extra_toml: &str) -> Settings {
    // A test that brings its own [dingtalk] bases (the stream gateway) keeps them.
    let dingtalk = if extra_toml.contains("[dingtalk]") {
        String::new()
    } else {
        format!("[dingtalk]\napi_base = \"{fake}\"\noapi_base = \"{fake}\"")
    };
    let wecom_base = if extra_toml.contains("[wecom]") {
        String::new()
    } else {
        format!("[wecom]\napi_base = \"{fake_wecom}\"")
    };
    // The tests drive the worker themselves; a test tuning it says so too.
    let outbox = if extra_toml.contains("[outbox]") {
        ""
    } else {
        "[outbox]\nenabled = false"
    };
    // Top-level keys of extra_toml (those before its first [table]) must come
    // before the tables here, or they would land in the last one.
    let split = extra_toml
        .find("\n[")
        .map(|i| i + 1)
        .or_else(|| extra_toml.starts_with('[').then_some(0))
        .unwrap_or(extra_toml.len());
    let (extra_top, extra_toml) = extra_toml.split_at(split);
    Settings::from_toml_overrides(&format!(
        r#"
{extra_top}
database_url = "{database_url}"
listen = "127.0.0.1:0"
admin_token = "{ADMIN_TOKEN}"
{dingtalk}
{wecom_base}
[scheduler]
enabled = false
fanout_spread_secs = 0
{outbox}
[[bots]]
name = "{BOT}"
platform = "dingtalk"
display_names = ["联村助手"]
app_key = "{APP_KEY}"
app_secret = "{SECRET}"
robot_code = "{ROBOT_CODE}"
admins = ["city-admin"]
{wecom}
{extra_toml}
"#,
        wecom = wecom::BOTS_TOML,
    ))
    .expect("test settings are valid")
}

impl TestApp {
    /// Spawns the app on a fresh database; `None` when the backend is not
    /// available here (PostgreSQL without LIANCUN_TEST_PG).
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, "").await
    }

    /// [`Self::spawn`] with `extra_toml` appended to the settings (more bots,
    /// other API bases).
    pub async fn spawn_with(backend: Backend, extra_toml: &str) -> Option<TestApp> {
        let (database_url, dir) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                (url, Some(Arc::new(dir)))
            }
            Backend::Postgres => {
                let admin = pg_admin_url()?;
                (create_pg_database(&admin).await, None)
            }
        };
        Some(
            Self::start(
                backend,
                database_url,
                extra_toml.to_string(),
                dir,
                wednesday_10am(),
            )
            .await,
        )
    }

    async fn start(
        backend: Backend,
        database_url: String,
        extra_toml: String,
        dir: Option<Arc<tempfile::TempDir>>,
        now: DateTime<Utc>,
    ) -> TestApp {
        let clock = FixedClock::at(now);
        let fake = FakeDingtalk::new(APP_KEY, SECRET);
        fake.set_now_ms(now.timestamp_millis());
        // The org directory: how DingTalk shows a mention of these people.
        for p in ROSTER.into_iter().chain(VILLAGERS.iter()) {
            fake.add_member(p.id, p.nick);
        }
        let fake_addr = fake.spawn().await.expect("fake DingTalk listens");
        let wecom = FakeWecom::new();
        wecom.set_now_ms(now.timestamp_millis());
        let wecom_addr = wecom.spawn().await.expect("fake WeCom listens");
        let settings = settings_for(
            &database_url,
            &format!("http://{fake_addr}"),
            &format!("http://{wecom_addr}"),
            &extra_toml,
        );
        let app = App::build(settings, Arc::new(clock.clone()))
            .await
            .expect("app builds");
        let db = app.state.db.clone();
        let state = app.state.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(listener, async move {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            client: reqwest::Client::new(),
            clock,
            db,
            state,
            fake,
            wecom,
            backend,
            database_url,
            extra_toml,
            conversation: format!("cid{}", SEQ.fetch_add(1, Ordering::Relaxed)),
            stop: Some(stop),
            server: Some(server),
            _dir: dir,
        }
    }

    /// Stops the app (graceful shutdown) and starts a new one on the same database.
    pub async fn restart(mut self) -> TestApp {
        self.stop().await;
        let now = self.clock.now();
        let mut next = Self::start(
            self.backend,
            self.database_url.clone(),
            self.extra_toml.clone(),
            self._dir.clone(),
            now,
        )
        .await;
        next.conversation = self.conversation.clone();
        next
    }

    pub async fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.server.take() {
            h.await.expect("server task").expect("server stops cleanly");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Switches the chat driver to another group.
    pub fn in_group(&mut self, conversation: &str) {
        self.conversation = conversation.to_string();
    }

    /// A DingTalk callback body as the platform sends it.
    pub fn body(&self, msg_id: &str, who: &Person, text: &str) -> Value {
        let mut at_users = vec![json!({"dingtalkId": "$:LWCP_v1:$bot"})];
        for p in ROSTER {
            if text.contains(&format!("@{}", p.nick)) {
                at_users
                    .push(json!({"dingtalkId": format!("$:LWCP_v1:${}", p.id), "staffId": p.id}));
            }
        }
        let now = self.clock.now_ms();
        json!({
            "msgtype": "text",
            "text": {"content": format!(" {text}")},
            "msgId": msg_id,
            "createAt": now,
            "conversationType": "2",
            "conversationId": self.conversation,
            "conversationTitle": "南坞村村务群",
            "senderId": format!("$:LWCP_v1:${}", who.id),
            "senderNick": who.nick,
            "senderStaffId": who.id,
            "senderCorpId": "dingCORP",
            "chatbotUserId": "$:LWCP_v1:$bot",
            "chatbotCorpId": "dingCORP",
            "robotCode": "dingROBOT",
            "isAdmin": who.group_admin,
            "isInAtList": true,
            "atUsers": at_users,
            // The fake DingTalk takes session sends like the real one.
            "sessionWebhook": format!("{}/robot/sendBySession?session={msg_id}", self.fake_base()),
            "sessionWebhookExpiredTime": now + 5_400_000,
        })
    }

    /// Posts a raw callback with the given headers; returns (status, body).
    pub async fn post_raw(
        &self,
        bot: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> (u16, String) {
        let mut req = self
            .client
            .post(self.url(&format!("/webhook/dingtalk/{bot}")))
            .body(body);
        req = req.header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap_or_default())
    }

    /// Signed headers for now.
    pub fn signed(&self) -> Vec<(&'static str, String)> {
        let ts = self.clock.now_ms().to_string();
        let sig = sign::sign(&ts, SECRET);
        vec![("timestamp", ts), ("sign", sig)]
    }

    /// Sends a signed message with a given msgId; returns the reply JSON.
    pub async fn send_with_id(&self, msg_id: &str, who: &Person, text: &str) -> Value {
        let body = self.body(msg_id, who, text).to_string().into_bytes();
        let (status, text) = self.post_raw(BOT, &self.signed(), body).await;
        assert_eq!(status, 200, "callback refused: {text}");
        serde_json::from_str(&text).expect("reply is JSON")
    }

    /// `who` says `text` in the group; returns the bot's reply as a member
    /// of the group reads it: an `@userId` listed in the reply's
    /// `at.atUserIds` shows as the person's name, anything else as sent.
    pub async fn say(&self, who: &Person, text: &str) -> String {
        let id = format!("msg-{}", SEQ.fetch_add(1, Ordering::Relaxed));
        let v = self.send_with_id(&id, who, text).await;
        self.shown(&v)
    }

    /// A DingTalk reply body (HTTP-mode response) as a member reads it.
    pub fn shown(&self, reply: &Value) -> String {
        let text = reply["text"]["content"].as_str().expect("text reply");
        let ids: Vec<String> = reply["at"]["atUserIds"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        self.fake.shown(text, &ids)
    }

    pub async fn counts(&self) -> BTreeMap<&'static str, i64> {
        self.db
            .read(|tx| Box::pin(async move { store::table_counts(tx).await }))
            .await
            .map_err(|e: StoreError| e)
            .expect("counts")
    }

    pub async fn metrics(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The value of one counter line, 0 when absent.
    pub async fn counter(&self, name: &str, labels: &str) -> f64 {
        let m = self.metrics().await;
        m.lines()
            .filter(|l| l.starts_with(name) && l.contains(labels))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Sets the app's and the fake platforms' clocks to a local
    /// (Asia/Shanghai) time.
    pub fn set_local(&self, y: i32, m: u32, d: u32, h: u32, min: u32) {
        let t = chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("a valid local time")
            .with_timezone(&Utc);
        self.clock.set(t);
        self.fake.set_now_ms(t.timestamp_millis());
        self.wecom.set_now_ms(t.timestamp_millis());
    }

    /// Moves both clocks forward.
    pub fn advance(&self, d: chrono::Duration) {
        self.clock.advance(d);
        self.fake.set_now_ms(self.clock.now_ms());
        self.wecom.set_now_ms(self.clock.now_ms());
    }

    /// One scheduler tick (a replica named `worker`).
    pub async fn tick_as(&self, worker: &str) -> Vec<Firing> {
        Scheduler {
            ctx: self.state.jobs.clone(),
            clock: self.state.clock.clone(),
            worker: worker.into(),
        }
        .tick()
        .await
        .expect("tick")
    }

    pub async fn tick(&self) -> Vec<Firing> {
        self.tick_as("test-replica").await
    }

    /// One outbox step: send everything due now.
    pub async fn deliver(&self) -> Delivered {
        self.state.worker.deliver_due().await.expect("deliver")
    }

    /// An admin API call; returns (status, JSON or null).
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.admin_with(method, path, body, Some(ADMIN_TOKEN)).await
    }

    pub async fn admin_with(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("admin request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The fake DingTalk's base URL.
    pub fn fake_base(&self) -> String {
        self.state.settings.dingtalk.api_base.clone()
    }

    /// The conversation id of a group.
    pub async fn conversation_of(&self, group_id: i64) -> String {
        self.db
            .read(move |tx| {
                Box::pin(async move {
                    liancun::store::sql::query_as::<(String,)>(
                        "SELECT conversation_id FROM chat_groups WHERE id = $1",
                    )
                    .bind(group_id)
                    .fetch_one(tx)
                    .await
                    .map(|(id,)| id)
                })
            })
            .await
            .expect("group exists")
    }

    /// The id of this test's group (after it has spoken once).
    pub async fn group_id(&self) -> i64 {
        let conv = self.conversation.clone();
        self.db
            .read(move |tx| {
                Box::pin(async move {
                    liancun::store::sql::query_as::<(i64,)>(
                        "SELECT id FROM chat_groups WHERE conversation_id = $1",
                    )
                    .bind(&conv)
                    .fetch_one(tx)
                    .await
                    .map(|(id,)| id)
                })
            })
            .await
            .expect("group exists")
    }

    /// The township and village (created through the admin API when new,
    /// as a township sets up before its groups bind); returns their ids.
    pub async fn ensure_village(&self, township: &str, village: &str) -> (i64, i64) {
        let find = |list: &Value, name: &str| {
            list["items"]
                .as_array()
                .and_then(|items| items.iter().find(|x| x["name"] == name))
                .and_then(|x| x["id"].as_i64())
        };
        let (s, list) = self.admin("GET", "/api/v1/townships", None).await;
        assert_eq!(s, 200, "{list}");
        let tid = match find(&list, township) {
            Some(id) => id,
            None => {
                let body = json!({"name": township});
                let (s, t) = self.admin("POST", "/api/v1/townships", Some(body)).await;
                assert_eq!(s, 201, "{t}");
                t["id"].as_i64().expect("township id")
            }
        };
        let path = format!("/api/v1/villages?township_id={tid}");
        let (s, list) = self.admin("GET", &path, None).await;
        assert_eq!(s, 200, "{list}");
        let vid = match find(&list, village) {
            Some(id) => id,
            None => {
                let body = json!({"township_id": tid, "name": village});
                let (s, v) = self.admin("POST", "/api/v1/villages", Some(body)).await;
                assert_eq!(s, 201, "{v}");
                v["id"].as_i64().expect("village id")
            }
        };
        (tid, vid)
    }

    /// Binds the group (a group admin, to a township and village set up
    /// beforehand) and sets up 张三 as leader, 李四 and 王五 as members.
    pub async fn setup_team(&self) {
        self.ensure_village("凤林镇", "南坞村").await;
        assert!(
            self.say(&ADMIN, "绑定 凤林镇 南坞村 南坞服务团")
                .await
                .contains("已绑定")
        );
        assert!(self.say(&ADMIN, "设团长 @张三").await.contains("已设团长"));
        assert!(
            self.say(&ZHANGSAN, "设团员 @李四 @王五")
                .await
                .contains("已设团员")
        );
    }
}

/// Creates a fresh database on the test PostgreSQL server; returns its URL.
pub async fn create_pg_database(admin_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("liancun_test_{}", fastrand::u64(..));
    let mut c = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to LIANCUN_TEST_PG");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut c)
        .await
        .expect("create test database");
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(admin_url);
    format!("{base}/{name}")
}

/// Declares a scenario `async fn NAME(app: TestApp)` run on both backends.
#[macro_export]
macro_rules! scenario {
    ($(#[$m:meta])* async fn $name:ident($app:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_mut)]
            async fn run(mut $app: $crate::support::TestApp) $body

            #[tokio::test]
            async fn sqlite() {
                let app = $crate::support::TestApp::spawn($crate::support::Backend::Sqlite).await.unwrap();
                run(app).await;
            }

            #[tokio::test]
            #[cfg_attr(not(liancun_pg), ignore = "PostgreSQL: set LIANCUN_TEST_PG to run")]
            async fn postgres() {
                let app = $crate::support::TestApp::spawn($crate::support::Backend::Postgres).await;
                run(app.expect($crate::support::PG_UNSET)).await;
            }
        }
    };
}
