//! The conformance macro: one body, one test per backend.

/// `conformance!(name, |db| async move { ... })` defines `name::sqlite` and
/// `name::postgres`, each running the body on a fresh migrated database of that backend.
macro_rules! conformance {
    ($name:ident, |$db:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $db = mitx_store::testing::TestDb::sqlite()
                    .await
                    .expect("sqlite test database");
                let store = $db.store.clone();
                let _ = &store;
                $body;
                $db.cleanup().await.expect("cleanup");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($db) = mitx_store::testing::TestDb::postgres()
                    .await
                    .expect("postgres test database")
                else {
                    eprintln!(
                        "skipped: {} is not set",
                        mitx_store::testing::POSTGRES_URL_VAR
                    );
                    return;
                };
                $body;
                $db.cleanup().await.expect("cleanup");
            }
        }
    };
}

/// `tx!(db, t => t.write(...).await)`: runs one store write in its own unit of work and
/// commits it when it succeeded; the write's result.
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
