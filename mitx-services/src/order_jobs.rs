//! Jobs about one order that the lead's executor queues and handles here: the unenrolment
//! of a refunded order's runs (T10 with `--unenroll`).

use mitx_core::enrollment::{ChangeStatus, UnenrollEmail};
use mitx_store::jobs::JobRecord;
use mitx_store::products::ContentType;

use crate::Services;
use crate::enrollment::{EnrollmentError, Unenrolling, unenroll_alongside};
use crate::jobs::{self, JobOutcome};
use crate::order_events::OrderJob;

/// Deactivates the purchaser's active enrollments in the order's runs with change status
/// `refunded` (the edX call runs here, outside the refund's unit of work). A run whose
/// enrollment is already inactive is skipped, so a repeated job changes nothing.
pub(crate) async fn run_unenroll_job(services: &Services, job: &JobRecord) -> JobOutcome {
    let target: OrderJob = match jobs::payload(job) {
        Ok(target) => target,
        Err(outcome) => return outcome,
    };
    let store = services.store();
    let order = match store.order(target.order).await {
        Ok(Some(order)) => order,
        Ok(None) => return JobOutcome::Done(Some(format!("order {} is gone", target.order))),
        Err(err) => return JobOutcome::Retry(err.to_string()),
    };
    let lines = match store.order_lines(order.id).await {
        Ok(lines) => lines,
        Err(err) => return JobOutcome::Retry(err.to_string()),
    };
    let mut done = 0;
    for line in lines
        .iter()
        .filter(|l| l.content_type == ContentType::CourseRun)
    {
        let run = mitx_core::ids::CourseRunId(line.object_id);
        let record = match store.run_enrollment(order.purchaser, run).await {
            Ok(Some(record)) if record.enrollment.active => record,
            Ok(_) => continue,
            Err(err) => return JobOutcome::Retry(err.to_string()),
        };
        let unenrolling = Unenrolling {
            change_status: ChangeStatus::Refunded,
            email: UnenrollEmail::Suppress,
            // The refund already happened: the local row follows it even if edX refuses.
            keep_failed: true,
            acting: None,
        };
        match unenroll_alongside(
            services,
            order.purchaser,
            record.id,
            unenrolling,
            &Default::default(),
        )
        .await
        {
            Ok(_) => done += 1,
            Err(EnrollmentError::Store(err)) => return JobOutcome::Retry(err.to_string()),
            Err(err) => return JobOutcome::Fail(err.to_string()),
        }
    }
    JobOutcome::Done(Some(format!("{done} enrollment(s) deactivated")))
}
