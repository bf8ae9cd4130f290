//! Operators' changes to the queue (`mitx jobs retry ID`), audited.

use mitx_store::StoreError;
use mitx_store::audit_log::{Audit, AuditChange};
use mitx_store::jobs::RetryOutcome;

use crate::Services;

/// Queues the failed job `id` again with a fresh attempt budget; `None` when no such job.
pub async fn retry(
    services: &Services,
    id: i64,
    audit: &Audit,
) -> Result<Option<RetryOutcome>, StoreError> {
    let now = services.now();
    let mut tx = services.db().begin().await?;
    let outcome = tx.retry_failed_job(id, now).await?;
    if outcome == Some(RetryOutcome::Requeued) {
        tx.record_audit(
            &AuditChange {
                audit,
                action: "job.retry",
                entity: "job",
                entity_id: id.to_string(),
                before: Some(r#"{"status":"failed"}"#.into()),
                after: Some(r#"{"status":"queued"}"#.into()),
            },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(outcome)
}
