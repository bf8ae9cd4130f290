//! # mitx-services
//!
//! The workflows: the only code that changes data. A workflow gathers facts from the store,
//! asks mitx-core for the decision, then applies the decision's effects and enqueues its
//! jobs in one unit of work (`mitx_store::Tx`). Partner calls (Open edX, email) run between
//! the reads and the unit of work, or in jobs, never inside a transaction.
//!
//! The server and the CLI hold a [`Services`] and read through [`Services::store`] (a
//! read-only handle); they cannot open a unit of work themselves (see
//! docs/decisions/0007-unit-of-work.md). Read-model types are re-exported in [`store`].

pub mod baskets;
pub mod catalog;
pub mod certificates;
pub mod checkout;
pub mod clock;
pub mod config;
pub mod course_certificates;
pub mod credentials;
pub mod cybersource;
pub mod cybersource_rest;
pub mod deferral;
pub mod demo;
pub mod discount_admin;
pub mod discount_codes;
pub mod edx;
pub mod email;
pub mod enrollment;
pub mod error;
pub mod gateway_user;
pub mod jobs;
pub mod leases;
pub mod openedx_webhooks;
pub mod order_emails;
pub mod order_events;
mod order_jobs;
pub mod order_receipts;
pub mod price_explain;
pub mod products;
pub mod program_certificates;
pub mod program_enrollment;
pub mod program_upgrade;
pub mod records;
pub mod refund_requests;
pub mod refunds;
pub mod resolve_orders;
pub mod service_tokens;
pub mod stripe;
pub mod stripe_webhook;
#[cfg(feature = "testing")]
pub mod testing;
pub mod users;
pub mod verified_program_enrollment;

use std::sync::Arc;

use chrono::{DateTime, Utc};
pub use mitx_core as core;
use mitx_store::{Database, StoreError};

use crate::clock::Clock;
use crate::config::Settings;
use crate::cybersource_rest::CyberSourceRestClient;
use crate::edx::client::{EdxClient, EdxError};
use crate::email::Mailer;
pub use crate::error::{Fault, cause_chain};
use crate::stripe::StripeClient;

/// The read side of the store, for the server and the CLI: read-model types and lookups.
/// The write-capable `Database` and the unit of work `Tx` are deliberately not here.
pub mod store {
    pub use mitx_store::{
        Backend, ConnectOptions, Store, StoreError, audit_log, b2b, baskets, catalog, catalog_api,
        certificates, course_runs, discount_admin, discounts, enrollments, gateway_users, jobs,
        migrate, money, openedx, order_admin, order_views, orders, pricing_facts, products,
        program_enrollments, records, redact, service_tokens, transcript, users,
    };
}

/// Installs the process's TLS crypto provider (ring) once; reqwest needs one before it
/// builds a client. Later calls do nothing.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Why [`Services`] could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened.
    #[error("cannot open database {url}: {source}")]
    Database {
        /// The URL, password hidden.
        url: String,
        /// Why.
        source: StoreError,
    },
    /// The database server could not be reached or refused the login (the message names
    /// the server and the cause).
    #[error("{0}")]
    Connect(String),
    /// The Open edX client could not be built.
    #[error(transparent)]
    Edx(#[from] EdxError),
    /// The mail transport could not be built.
    #[error(transparent)]
    Email(#[from] email::EmailError),
    /// The CyberSource REST client could not be built.
    #[error(transparent)]
    CyberSourceRest(#[from] cybersource_rest::CyberSourceRestError),
    /// The Stripe client could not be built.
    #[error(transparent)]
    Stripe(#[from] stripe::StripeError),
}

/// Everything a workflow needs: the database, the settings, the partner clients and the
/// clock. Cheap to clone; one per process.
#[derive(Clone, Debug)]
pub struct Services {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Database,
    settings: Settings,
    edx: EdxClient,
    mailer: Mailer,
    cybersource_rest: CyberSourceRestClient,
    stripe: StripeClient,
    clock: Clock,
    instance: String,
}

impl Services {
    /// Opens the database of `settings` and builds the partner clients.
    pub async fn start(settings: Settings) -> Result<Services, StartError> {
        let db =
            Database::connect_with(&settings.database.url, &settings.database.connect_options())
                .await
                .map_err(|source| match source {
                    // Already says which server and why, without the password.
                    StoreError::Unavailable(why) => StartError::Connect(why),
                    source => StartError::Database {
                        url: mitx_store::redact(&settings.database.url),
                        source,
                    },
                })?;
        Services::with_database(db, settings, Clock::system())
    }

    /// Services over an open database (tests and tools).
    pub fn with_database(
        db: Database,
        settings: Settings,
        clock: Clock,
    ) -> Result<Services, StartError> {
        let edx = EdxClient::new(settings.edx.clone())?;
        let mailer = Mailer::new(&settings.email)?;
        let cybersource_rest = CyberSourceRestClient::new(settings.cybersource_rest.clone())?;
        let stripe = StripeClient::new(settings.stripe.clone())?;
        Ok(Services {
            inner: Arc::new(Inner {
                db,
                settings,
                edx,
                mailer,
                cybersource_rest,
                stripe,
                clock,
                instance: instance_name(),
            }),
        })
    }

    /// The read handle.
    pub fn store(&self) -> &mitx_store::Store {
        self.inner.db.store()
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Now, from the services' clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// The clock (tests move it).
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// This process's name in leases and job claims (`host:pid:random`).
    pub fn instance(&self) -> &str {
        &self.inner.instance
    }

    /// The write-capable handle: workflows only.
    pub(crate) fn db(&self) -> &Database {
        &self.inner.db
    }

    /// The Open edX client.
    pub(crate) fn edx(&self) -> &EdxClient {
        &self.inner.edx
    }

    /// The mail transport.
    pub(crate) fn mailer(&self) -> &Mailer {
        &self.inner.mailer
    }

    /// The CyberSource REST client (refunds, transaction search).
    pub fn cybersource_rest(&self) -> &CyberSourceRestClient {
        &self.inner.cybersource_rest
    }

    /// The Stripe client (Checkout Sessions).
    pub fn stripe(&self) -> &StripeClient {
        &self.inner.stripe
    }

    /// Applies every pending migration; how many were applied now.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        self.inner.db.migrate().await
    }

    /// Closes the database connections.
    pub async fn close(&self) {
        self.inner.db.close().await;
    }
}

/// `host:pid:random`, unique per process.
fn instance_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    let mut bytes = [0u8; 4];
    let _ = getrandom::fill(&mut bytes);
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        u32::from_le_bytes(bytes)
    )
}
