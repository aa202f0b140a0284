//! The load generators' side of a callback: one keep-alive HTTP/1
//! connection to a server, and a DingTalk callback signed for it, as
//! `bench callbacks` and `bench day` send them.

use anyhow::Context;
use axum::body::Bytes;
use axum::http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::platform::dingtalk::sign;

/// A keep-alive connection to `addr`.
pub(crate) struct Conn {
    sender: SendRequest<Full<Bytes>>,
    addr: std::net::SocketAddr,
}

impl Conn {
    pub(crate) async fn open(addr: std::net::SocketAddr) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn { sender, addr })
    }

    /// The server closed the connection (an idle time-out, say).
    pub(crate) fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Posts `body` to bot `bot`'s DingTalk webhook, signed with `secret`
    /// at `now_ms`; the status and the whole answer.
    pub(crate) async fn post_callback(
        &mut self,
        bot: &str,
        secret: &str,
        now_ms: i64,
        body: impl Into<Bytes>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let ts = now_ms.to_string();
        let sig = sign::sign(&ts, secret);
        let req = Request::post(format!("http://{}/webhook/dingtalk/{bot}", self.addr))
            .header("content-type", "application/json")
            .header("host", self.addr.to_string())
            .header("timestamp", ts)
            .header("sign", sig)
            .body(Full::new(body.into()))
            .context("building the callback")?;
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }
}
