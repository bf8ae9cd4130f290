//! Test fixtures shared by the modules' unit tests: NOW and run R1 of the courses spec
//! acceptance scenarios (also run R of the ecommerce scenarios).

use chrono::{TimeZone, Utc};

use crate::Timestamp;
use crate::catalog::{CourseRun, CoursewareId, EnrollmentMode, VariantIndustry, VariantLength};
use crate::ids::{CourseId, CourseRunId};

pub fn at(y: i32, m: u32, d: u32) -> Timestamp {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().unwrap()
}

/// NOW of the courses spec acceptance scenarios.
pub fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap()
}

/// R1 of the courses spec acceptance scenarios.
pub fn r1() -> CourseRun {
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
