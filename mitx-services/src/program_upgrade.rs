//! Program-enrollment auto-upgrade (courses spec 2.8): the daily job
//! `upgrade-eligible-program-enrollments` and `mitx enrollments upgrade-programs`.
//!
//! Every active audit program enrollment is checked with mitx-core's
//! [`plan_program_upgrade`] against the learner's active verified run enrollments and active
//! program certificates; a qualifying one becomes verified with a compare-and-set and its
//! audit row, one unit of work per enrollment (a row changed meanwhile is left for the next
//! run). Repeats change nothing: an upgraded enrollment is no longer an audit candidate.

use std::collections::HashMap;

use mitx_core::catalog::Program;
use mitx_core::enrollment::plan_program_upgrade;
use mitx_core::ids::{ProgramId, UserId};
use mitx_store::StoreError;
use mitx_store::program_enrollments::SavedProgramEnrollment;
use serde::Serialize;

use crate::Services;

/// Candidates read per page.
const PAGE: i64 = 500;

/// One upgraded (or, in a dry run, upgradable) program enrollment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProgramUpgrade {
    /// The learner.
    pub user: UserId,
    /// The program.
    pub program: ProgramId,
    /// Its readable id.
    pub readable_id: String,
    /// `upgraded`, `would upgrade`, or `skipped: changed meanwhile`.
    pub outcome: String,
}

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UpgradeReport {
    /// Audit program enrollments looked at.
    pub checked: u64,
    /// Upgraded (or upgradable in a dry run).
    pub upgraded: u64,
    /// Qualifying rows changed by someone else meanwhile (left as they are).
    pub skipped: u64,
    /// The qualifying rows.
    pub upgrades: Vec<ProgramUpgrade>,
}

impl UpgradeReport {
    /// One line for people.
    pub fn summary(&self, dry_run: bool) -> String {
        if dry_run {
            format!(
                "Dry run: {} of {} audit program enrollment(s) would be upgraded to verified (nothing changed).",
                self.upgraded, self.checked
            )
        } else {
            format!(
                "Upgraded {} of {} audit program enrollment(s) to verified ({} skipped: changed meanwhile).",
                self.upgraded, self.checked, self.skipped
            )
        }
    }
}

/// Upgrades every eligible audit program enrollment (`dry_run`: only reports them).
pub async fn upgrade_eligible(
    services: &Services,
    dry_run: bool,
) -> Result<UpgradeReport, StoreError> {
    let store = services.store();
    let mut report = UpgradeReport::default();
    let mut programs: HashMap<ProgramId, Option<Program>> = HashMap::new();
    let mut after = 0;
    loop {
        let batch = store.audit_program_enrollments(after, PAGE).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for record in &batch {
            report.checked += 1;
            let row = &record.enrollment;
            let program = match programs.entry(row.program) {
                std::collections::hash_map::Entry::Occupied(found) => found.into_mut(),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(store.program_with_requirements(row.program).await?)
                }
            };
            let Some(program) = program.as_ref() else {
                continue;
            };
            let now = services.now();
            let transcript = store.learner_transcript(row.user, now).await?;
            let certified = transcript
                .program_certificates
                .iter()
                .any(|c| c.of == row.program);
            let verified = store.verified_course_ids(row.user).await?;
            let Some(change) = plan_program_upgrade(row, program, certified, &verified) else {
                continue;
            };
            let mut line = ProgramUpgrade {
                user: row.user,
                program: row.program,
                readable_id: program.readable_id.as_str().to_owned(),
                outcome: "would upgrade".into(),
            };
            if dry_run {
                report.upgraded += 1;
                report.upgrades.push(line);
                continue;
            }
            let mut tx = services.db().begin().await?;
            match tx
                .save_program_enrollment(Some(record), &change.enrollment, None, now)
                .await?
            {
                SavedProgramEnrollment::Saved(_) => {
                    tx.commit().await?;
                    report.upgraded += 1;
                    line.outcome = "upgraded".into();
                }
                SavedProgramEnrollment::Raced => {
                    tx.rollback().await?;
                    report.skipped += 1;
                    line.outcome = "skipped: changed meanwhile".into();
                }
            }
            report.upgrades.push(line);
        }
    }
    Ok(report)
}
