//! Open edX: the HTTP client, learners' accounts and tokens, the repair jobs, the
//! enrollment sync (courses spec 2.11, 4.1–4.4) and the course-run data sync (4.6). The
//! enrollment calls themselves are made by the enrollment workflows (`crate::enrollment`).

pub mod client;
#[cfg(any(feature = "testing", feature = "fake-edx"))]
pub mod fake;
pub mod repair;
pub mod run_sync;
pub mod sync;
pub mod tokens;
pub mod users;
