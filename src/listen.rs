//! LISTEN: wakes a loop within milliseconds of another process's commit (`store::wake`; this
//! process's own commits woke it already). Polling stays the fallback, so a lost connection only
//! delays work, it never loses it. The connection is `database.direct_url`'s:
//! through a pooler in transaction mode a LISTEN would hear nothing.

use crate::app::App;
use crate::shutdown::Shutdown;
use crate::store::Channel;
use futures_util::StreamExt;
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_postgres::AsyncMessage;

pub async fn listen(app: Arc<App>, channel: Channel, wake: Arc<Notify>, shutdown: Shutdown) {
    while !shutdown.is_triggered() {
        match tokio_postgres::connect(app.database_direct_url.expose_secret(), app.database_tls.connector()).await {
            Ok((client, mut connection)) => {
                let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                let statement = format!("LISTEN {}", channel.name());
                let listen = client.batch_execute(&statement);
                // The connection must be polled for LISTEN to complete.
                let mut listen = std::pin::pin!(listen);
                let ready = loop {
                    tokio::select! {
                        result = &mut listen => break result.is_ok(),
                        message = messages.next() => if message.is_none() { break false },
                    }
                };
                if ready {
                    wake.notify_one();
                    loop {
                        tokio::select! {
                            message = messages.next() => match message {
                                Some(Ok(AsyncMessage::Notification(note))) => {
                                    if !app.store.wakes().is_own(note.payload()) {
                                        wake.notify_one();
                                    }
                                }
                                Some(Ok(_)) => {}
                                Some(Err(_)) | None => break,
                            },
                            _ = shutdown.wait() => return,
                        }
                    }
                }
            }
            Err(error) => tracing::debug!(%error, "LISTEN connection failed; polling meanwhile."),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.wait() => return,
        }
    }
}
