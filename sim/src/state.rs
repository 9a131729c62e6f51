//! What the simulator holds: the harness (calls, faults, webhook systems) and each vendor's data.

use crate::harness::{Harness, SimOptions, Vendor};
use crate::{elasticsearch, hubspot, intercom, loki, mailchimp, twilio, zendesk};
use axum::Router;
use serde_json::Value;
use std::sync::Arc;

/// The vendors, by the name of their prefix and seed section.
pub(crate) const VENDORS: &[&str] = &["zendesk", "intercom", "twilio", "elasticsearch", "loki", "mailchimp", "hubspot"];

pub(crate) struct State {
    pub harness: Arc<Harness>,
    pub zendesk: Arc<Vendor<zendesk::Data>>,
    pub intercom: Arc<Vendor<intercom::Data>>,
    pub twilio: Arc<Vendor<twilio::Data>>,
    pub elasticsearch: Arc<Vendor<elasticsearch::Data>>,
    pub loki: Arc<Vendor<loki::Data>>,
    pub mailchimp: Arc<Vendor<mailchimp::Data>>,
    pub hubspot: Arc<Vendor<hubspot::Data>>,
}

impl State {
    pub fn new(options: SimOptions) -> Self {
        let harness = Arc::new(Harness::new(options));
        State {
            zendesk: Arc::new(Vendor::new(harness.clone())),
            intercom: Arc::new(Vendor::new(harness.clone())),
            twilio: Arc::new(Vendor::new(harness.clone())),
            elasticsearch: Arc::new(Vendor::new(harness.clone())),
            loki: Arc::new(Vendor::new(harness.clone())),
            mailchimp: Arc::new(Vendor::new(harness.clone())),
            hubspot: Arc::new(Vendor::new(harness.clone())),
            harness,
        }
    }

    /// The routes of `vendor` at its own paths, on its data.
    pub fn vendor_router(&self, vendor: &str) -> Option<Router> {
        Some(match vendor {
            "zendesk" => zendesk::router(self.zendesk.clone()),
            "intercom" => intercom::router(self.intercom.clone()),
            "twilio" => twilio::router(self.twilio.clone()),
            "elasticsearch" => elasticsearch::router(self.elasticsearch.clone()),
            "loki" => loki::router(self.loki.clone()),
            "mailchimp" => mailchimp::router(self.mailchimp.clone()),
            "hubspot" => hubspot::router(self.hubspot.clone()),
            _ => return None,
        })
    }

    /// Seed `vendor` from its section of a seed file; `None` for a name that is no vendor.
    pub fn seed_vendor(&self, vendor: &str, seed: &Value) -> Option<Result<(), String>> {
        Some(match vendor {
            "zendesk" => zendesk::seed_json(&mut self.zendesk.data(), seed),
            "intercom" => intercom::seed_json(&mut self.intercom.data(), seed),
            "twilio" => twilio::seed_json(&mut self.twilio.data(), seed),
            "elasticsearch" => elasticsearch::seed_json(&mut self.elasticsearch.data(), seed),
            "loki" => loki::seed_json(&mut self.loki.data(), seed),
            "mailchimp" => mailchimp::seed_json(&mut self.mailchimp.data(), seed),
            "hubspot" => hubspot::seed_json(&mut self.hubspot.data(), seed),
            _ => return None,
        })
    }
}
