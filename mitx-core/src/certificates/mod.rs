//! Course-run and program certificate decisions (courses spec sections 1.11, 1.12,
//! 3.1-3.7 and the grade selection of 3.9).
//!
//! - [`grade`]: the validated grade value, the edX sync upsert, the manual override.
//! - [`certificate`]: certificate rows, the "active" predicate, links, creation effects.
//! - [`course_run`]: the per-grade course-run certificate decision.
//! - [`job`]: the hourly job's candidate runs, the date gate, one grade end to end.
//! - [`revoke`]: revoke / un-revoke.
//! - [`program`]: program eligibility over the requirements tree and generation.
//! - [`record`]: which certificate and grade a learner record shows for a course.

pub mod certificate;
pub mod course_run;
#[cfg(test)]
mod fixtures;
pub mod grade;
pub mod job;
pub mod program;
pub mod record;
pub mod revoke;

pub use certificate::{
    Certificate, CertificateEffect, CertificateSubject, CourseRunCertificate, NewCertificate,
    PageRevisionId, ProgramCertificate,
};
pub use course_run::{
    CourseCertificateDecision, CourseCertificateInput, NoCertificateReason,
    decide_course_certificate, new_course_certificate, programs_to_generate,
};
pub use grade::{
    CourseRunGrade, EdxGrade, Grade, GradeError, GradeOverrideError, GradeSync, OverrideLetter,
    grade_percent, override_grade, sync_grade,
};
pub use job::{
    DEFAULT_CERTIFICATE_CREATION_WINDOW_IN_DAYS, GradeProcessing, GradeTrigger, LearnerRunState,
    RunCertificateContext, certificate_date_reached, certificate_job_candidates,
    is_certificate_job_candidate, process_reported_grade,
};
pub use program::{
    LearnerFacts, MissingCertificateStats, NotGeneratedReason, ProgramCertificateGeneration,
    generate_program_certificate, is_program_eligible, needs_missing_certificate_check,
};
pub use record::{RecordCourseResult, record_course_result};
pub use revoke::{NoChangesMade, set_revoked};
