//! A fake DingTalk Stream gateway on loopback:
//! `POST /v1.0/gateway/connections/open` hands out single-use tickets for
//! `ws://127.0.0.1:PORT/connect`, and every accepted websocket is handed to
//! the test, which then plays the server's side frame by frame.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{
    ErrorResponse, Request, Response as WsResponse,
};

pub const CLIENT_ID: &str = "dingstreamkey";
pub const CLIENT_SECRET: &str = "stream-secret-0123456789";
pub const STREAM_BOT: &str = "stream";

#[derive(Default)]
struct Shared {
    /// Bodies of connections/open calls, in order.
    opens: Vec<Value>,
    /// Tickets issued and not used yet.
    tickets: Vec<String>,
    ws_addr: Option<SocketAddr>,
}

/// The gateway; `api_base()` goes into the app's `[dingtalk] api_base`.
pub struct FakeGateway {
    pub http_addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    conns: mpsc::UnboundedReceiver<WebSocketStream<TcpStream>>,
}

/// The settings of a stream bot talking to this gateway.
pub fn stream_bot_toml(api_base: &str) -> String {
    format!(
        r#"
[dingtalk]
api_base = "{api_base}"
[[bots]]
name = "{STREAM_BOT}"
platform = "dingtalk"
mode = "stream"
app_key = "{CLIENT_ID}"
app_secret = "{CLIENT_SECRET}"
display_names = ["联村助手"]
"#
    )
}

async fn open(State(shared): State<Arc<Mutex<Shared>>>, Json(body): Json<Value>) -> Response {
    let mut st = shared.lock().expect("lock");
    st.opens.push(body.clone());
    if body["clientId"] != CLIENT_ID || body["clientSecret"] != CLIENT_SECRET {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"code": "invalidClientIdOrSecret", "message": "无效的clientId或者clientSecret"})),
        )
            .into_response();
    }
    let ticket = format!("ticket-{}+/{}", st.opens.len(), fastrand::u32(..));
    st.tickets.push(ticket.clone());
    let ws = st.ws_addr.expect("ws listener");
    Json(json!({"endpoint": format!("ws://{ws}/connect"), "ticket": ticket})).into_response()
}

impl FakeGateway {
    pub async fn spawn() -> FakeGateway {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let ws_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind ws");
        shared.lock().expect("lock").ws_addr = Some(ws_listener.local_addr().expect("addr"));
        let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
        let http_addr = http.local_addr().expect("addr");
        let app = Router::new()
            .route("/v1.0/gateway/connections/open", post(open))
            .with_state(Arc::clone(&shared));
        tokio::spawn(async move {
            let _ = axum::serve(http, app).await;
        });
        let (tx, conns) = mpsc::unbounded_channel();
        let tickets = Arc::clone(&shared);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = ws_listener.accept().await {
                let tickets = Arc::clone(&tickets);
                let tx = tx.clone();
                tokio::spawn(async move {
                    // Only /connect with a ticket issued and not used yet. The
                    // signature (and its large Err) is tungstenite's callback type.
                    #[allow(clippy::result_large_err)]
                    let check = move |req: &Request,
                                      resp: WsResponse|
                          -> Result<WsResponse, ErrorResponse> {
                        let uri = req.uri();
                        let ticket = uri
                            .query()
                            .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("ticket=")))
                            .and_then(|t| urlencoding::decode(t).ok())
                            .map(|t| t.into_owned());
                        let mut st = tickets.lock().expect("lock");
                        let pos = ticket.and_then(|t| st.tickets.iter().position(|x| *x == t));
                        match pos {
                            Some(i) if uri.path() == "/connect" => {
                                st.tickets.remove(i);
                                Ok(resp)
                            }
                            _ => {
                                let mut refused = ErrorResponse::new(Some("bad ticket".into()));
                                *refused.status_mut() = StatusCode::UNAUTHORIZED;
                                Err(refused)
                            }
                        }
                    };
                    if let Ok(ws) = tokio_tungstenite::accept_hdr_async(tcp, check).await {
                        let _ = tx.send(ws);
                    }
                });
            }
        });
        FakeGateway {
            http_addr,
            shared,
            conns,
        }
    }

    pub fn api_base(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// Bodies of the connections/open calls so far.
    pub fn opens(&self) -> Vec<Value> {
        self.shared.lock().expect("lock").opens.clone()
    }

    /// The next websocket the client opened (waits up to 10 s).
    pub async fn next_connection(&mut self) -> WebSocketStream<TcpStream> {
        tokio::time::timeout(Duration::from_secs(10), self.conns.recv())
            .await
            .expect("the client connects within 10 s")
            .expect("gateway running")
    }
}

/// Sends a JSON text frame.
pub async fn send(ws: &mut WebSocketStream<TcpStream>, frame: &Value) {
    ws.send(Message::text(frame.to_string()))
        .await
        .expect("frame sent");
}

/// The next JSON text frame from the client (pings and pongs skipped).
pub async fn recv(ws: &mut WebSocketStream<TcpStream>) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s")
            .expect("connection open")
            .expect("frame readable");
        match msg {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("JSON frame"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Waits until `f` holds (polling for up to 10 s).
pub async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}
