//! Test support (feature `testing`): fresh databases, services over them with settings a
//! test chooses, and the fake Open edX. Never part of a production build.

use std::path::PathBuf;

pub use mitx_store::Database;
pub use mitx_store::testing::{POSTGRES_URL_VAR, TestDb};

use mitx_core::ids::{CourseRunId, UserId};
use mitx_store::users::NewUser;

use crate::Services;
use crate::clock::Clock;
use crate::config::Settings;
pub use crate::edx::fake::FakeEdx;

/// Settings from the defaults plus `overrides` (the environment is not read). The email
/// outbox goes to a fresh temp folder unless overridden.
pub fn settings(overrides: &[(&str, &str)]) -> Settings {
    let outbox = temp_dir("outbox");
    let outbox = outbox.display().to_string();
    let lookup = |name: &str| {
        overrides
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
            .or_else(|| (name == "MITX_EMAIL_OUTBOX").then(|| outbox.clone()))
    };
    Settings::from_lookup(&lookup).unwrap_or_else(|e| panic!("test settings: {e}"))
}

/// Settings that point Open edX at `fake` (failures kept per `ignore_failures`) plus
/// `overrides`.
pub fn settings_with_edx(
    fake: &FakeEdx,
    ignore_failures: bool,
    overrides: &[(&str, &str)],
) -> Settings {
    let mut settings = settings(overrides);
    settings.edx = fake.settings(ignore_failures);
    settings
}

/// Services over a test database.
pub fn services(db: &TestDb, settings: Settings) -> Services {
    services_at(db, settings, Clock::system())
}

/// Services over a test database with a given clock.
pub fn services_at(db: &TestDb, settings: Settings, clock: Clock) -> Services {
    Services::with_database(db.store.clone(), settings, clock)
        .unwrap_or_else(|e| panic!("test services: {e}"))
}

/// The write-capable handle of services (fixtures that no workflow writes yet).
pub fn database(services: &Services) -> &Database {
    services.db()
}

/// Loads the demo catalog (`fixtures/demo/catalog.json`) through the import workflow.
pub async fn load_demo_catalog(services: &Services) {
    let data = serde_json::from_str(include_str!("../../fixtures/demo/catalog.json"))
        .unwrap_or_else(|e| panic!("demo catalog JSON: {e}"));
    crate::catalog::import(services, &data, false)
        .await
        .unwrap_or_else(|e| panic!("demo catalog: {e}"));
}

/// A new learner `name` (`name@example.com`, "name Learner", in the US).
pub async fn learner(services: &Services, name: &str) -> UserId {
    let new = NewUser {
        username: name.into(),
        email: format!("{name}@example.com"),
        name: format!("{name} Learner"),
        country: Some("US".into()),
        ..NewUser::default()
    };
    crate::users::create(services, &new)
        .await
        .unwrap_or_else(|e| panic!("learner {name}: {e}"))
        .user
        .id
}

/// `n` live, non-B2B, non-fake runs of the catalog (the demo catalog has enough).
pub async fn open_runs(services: &Services, n: usize) -> Vec<CourseRunId> {
    let store = services.store();
    let rows = store
        .list_runs()
        .await
        .unwrap_or_else(|e| panic!("runs: {e}"));
    let mut out = Vec::new();
    for row in rows {
        let run = store
            .enrollment_run(CourseRunId(row.id))
            .await
            .unwrap_or_else(|e| panic!("run {}: {e}", row.id));
        if let Some(run) = run.filter(|r| r.run.live && !r.run.is_b2b() && !r.run.is_fake()) {
            out.push(run.run.id);
        }
        if out.len() == n {
            return out;
        }
    }
    panic!("not enough open runs: wanted {n}, found {}", out.len())
}

/// A fresh empty folder under the temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "mitx-{name}-{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// A pending order of `user` for `run`, sold at `price` (the run's product is created or
/// updated to that price), built the way the form enrollment builds one.
pub async fn pending_order(
    services: &Services,
    user: UserId,
    run: CourseRunId,
    price: mitx_core::money::Money,
) -> mitx_store::orders::OrderRow {
    let store = services.store();
    let found = store
        .enrollment_run(run)
        .await
        .unwrap_or_else(|e| panic!("run {run}: {e}"))
        .unwrap_or_else(|| panic!("run {run} not found"));
    let target = store
        .resolve_product_target(found.run.courseware_id.as_str())
        .await
        .unwrap_or_else(|e| panic!("target: {e}"))
        .unwrap_or_else(|| panic!("no target for run {run}"));
    let request = crate::products::ProductRequest {
        price,
        description: Some(format!("{} product", found.course_title)),
        active: Some(true),
    };
    let audit = mitx_store::audit_log::Audit::new("test", None);
    crate::products::upsert(services, &target, &request, true, &audit)
        .await
        .unwrap_or_else(|e| panic!("product: {e}"));
    let product = store
        .product_for_target(&target)
        .await
        .unwrap_or_else(|e| panic!("product: {e}"))
        .unwrap_or_else(|| panic!("product of run {run}"));
    let order = crate::checkout::ensure_pending_order(services, user, product.id)
        .await
        .unwrap_or_else(|e| panic!("pending order: {e}"))
        .unwrap_or_else(|| panic!("no pending order for run {run}"));
    store
        .order(order)
        .await
        .unwrap_or_else(|e| panic!("order: {e}"))
        .unwrap_or_else(|| panic!("order {order}"))
}

/// A fulfilled order of `user` for `run` at `price`, paid with a CyberSource receipt
/// carrying `payment` (its `transaction_id` is the payment's id): the purchaser is enrolled
/// verified in the run.
pub async fn fulfilled_order(
    services: &Services,
    user: UserId,
    run: CourseRunId,
    price: mitx_core::money::Money,
    payment: serde_json::Value,
) -> mitx_store::orders::OrderRow {
    let order = pending_order(services, user, run, price).await;
    let id = payment
        .get("transaction_id")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("fixture-payment");
    let event = mitx_core::orders::Event::PaymentAccepted {
        payment: mitx_core::orders::PaymentTransaction {
            transaction_id: mitx_core::orders::TransactionId::parse(id)
                .unwrap_or_else(|e| panic!("transaction id: {e}")),
            amount: mitx_core::money::Money::ZERO,
        },
    };
    let options = crate::order_events::EventOptions {
        data: Some(payment),
        ..Default::default()
    };
    crate::order_events::apply_event(services, order.id, event, options, None)
        .await
        .unwrap_or_else(|e| panic!("fulfil: {e}"));
    services
        .store()
        .order(order.id)
        .await
        .unwrap_or_else(|e| panic!("order: {e}"))
        .unwrap_or_else(|| panic!("order {}", order.id))
}
