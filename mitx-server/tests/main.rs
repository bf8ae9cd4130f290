//! HTTP tests: each starts the real server on 127.0.0.1:0 against a fresh database.

#![allow(clippy::expect_used, clippy::unwrap_used)]

/// `tx!(db, t => t.write(...).await)`: one store write (a fixture no workflow writes) in
/// its own unit of work, committed when it succeeded; the write's result.
macro_rules! tx {
    ($db:expr, $tx:ident => $call:expr) => {{
        let mut $tx = $db.begin().await.expect("begin");
        let result = $call;
        if result.is_ok() {
            $tx.commit().await.expect("commit");
        }
        result
    }};
}

mod auth;
mod b2b;
mod baskets;
mod cache;
mod catalog;
mod checkout;
mod contract;
mod dashboard_sync;
mod discounts;
mod edge;
mod enrollments;
mod health;
mod learner;
mod orders;
mod program_enrollments;
mod records;
mod robustness;
mod service_tokens;
mod stripe_webhook;
mod unit_of_work;
mod users;
mod verified_program_enrollments;
mod webhooks;

/// An HTTP client builder (the TLS provider installed first, as the binaries do).
pub fn client_builder() -> reqwest::ClientBuilder {
    mitx_services::install_crypto_provider();
    reqwest::Client::builder()
}

/// A default HTTP client.
pub fn client() -> reqwest::Client {
    client_builder().build().expect("http client")
}
