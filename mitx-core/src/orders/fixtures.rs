//! Test fixtures for the ecommerce scenarios: NOW and run R (the courses spec R1).
//!
//! `crate::catalog::run::tests` holds the same values but `catalog::run` is a private
//! module, so they are rebuilt here from the public catalog API.

use chrono::{TimeZone, Utc};

use crate::Timestamp;
use crate::catalog::{CourseRun, CoursewareId, EnrollmentMode, VariantIndustry, VariantLength};
use crate::ids::{CourseId, CourseRunId};

/// Midnight UTC of a date.
pub fn at(y: i32, m: u32, d: u32) -> Timestamp {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().unwrap()
}

/// NOW (2026-03-01T12:00:00Z).
pub fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap()
}

/// Run R: live, verified mode, upgrade deadline 2026-05-01.
pub fn run_r() -> CourseRun {
    CourseRun {
        id: CourseRunId(1),
        course_id: CourseId(1),
        title: "Intro".into(),
        courseware_id: CoursewareId::parse("course-v1:MITx+6.001x+1T2026").unwrap(),
        run_tag: "1T2026".into(),
        start_date: Some(at(2026, 2, 1)),
        end_date: Some(at(2026, 6, 1)),
        enrollment_start: Some(at(2026, 1, 1)),
        enrollment_end: None,
        certificate_available_date: None,
        upgrade_deadline: Some(at(2026, 5, 1)),
        expiration_date: None,
        live: true,
        is_self_paced: false,
        enrollment_modes: vec![EnrollmentMode::Audit, EnrollmentMode::Verified],
        b2b_contract: None,
        is_source_run: false,
        is_primary_language: true,
        language: "en".into(),
        has_courseware_url: true,
        variant_length: VariantLength::Full,
        variant_industry: VariantIndustry::General,
    }
}
