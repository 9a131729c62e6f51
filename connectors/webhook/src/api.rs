//! The one call of the webhook protocol: a signed POST, its answer read as the protocol.

use crate::protocol::{Action, CallBody};
use crate::signing::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::{standard, Webhook};
use erasure_connector::{ExposeSecret, Failure};
use reqwest::Method;

impl Webhook {
    pub(crate) async fn call<T: serde::de::DeserializeOwned>(
        &self,
        url: &url::Url,
        body: &CallBody<'_>,
    ) -> Result<T, Failure> {
        let bytes = serde_json::to_vec(body).expect("the call body serialises");
        let timestamp =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        let signature = sign(self.secret.expose_secret().as_bytes(), timestamp, &bytes);
        // An erase keeps its id across attempts; other calls are new questions.
        let key = (body.action == Action::Erase).then_some(body.idempotency_key);
        let id = standard::message_id(key);
        let standard_signature = standard::sign(self.standard_key.expose_secret(), &id, timestamp, &bytes);
        let request = self
            .http
            .request(Method::POST, url.as_str())
            .header("content-type", "application/json")
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .header("idempotency-key", body.idempotency_key)
            .header(standard::ID_HEADER, id)
            .header(standard::TIMESTAMP_HEADER, timestamp.to_string())
            .header(standard::SIGNATURE_HEADER, standard_signature)
            .body(bytes);
        let response = self.http.send(request).await?;
        let status = response.status();
        response.json().await.map_err(|_| {
            Failure::permanent(format!(
                "{} answered {status} with a body that is not the webhook protocol",
                self.url_host()
            ))
        })
    }

    fn url_host(&self) -> String {
        self.url.host_str().unwrap_or("the service").to_string()
    }

    /// A check URL must stay on the configured origin: a signed call never goes elsewhere.
    pub(crate) fn same_origin(&self, candidate: &str) -> Option<url::Url> {
        let resolved = self.url.join(candidate).ok()?;
        (resolved.origin() == self.url.origin()).then_some(resolved)
    }
}
