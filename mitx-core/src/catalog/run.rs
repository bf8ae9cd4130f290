//! Course runs and the predicates the whole system asks of them (courses spec 1.3).

use serde::{Deserialize, Serialize};

use super::{CoursewareId, EnrollmentMode};
use crate::Timestamp;
use crate::ids::{ContractId, CourseId, CourseRunId};

/// Length variant of a run: full (`""`) or short (`S`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VariantLength {
    #[default]
    #[serde(rename = "")]
    Full,
    #[serde(rename = "S")]
    Short,
}

/// Industry variant of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VariantIndustry {
    #[default]
    #[serde(rename = "")]
    General,
    #[serde(rename = "E")]
    Energy,
    #[serde(rename = "F")]
    Finance,
    #[serde(rename = "HC")]
    Healthcare,
}

impl VariantLength {
    /// The stored code (`""`, `S`).
    pub fn code(self) -> &'static str {
        match self {
            VariantLength::Full => "",
            VariantLength::Short => "S",
        }
    }
}

impl VariantIndustry {
    /// The stored code (`""`, `E`, `F`, `HC`).
    pub fn code(self) -> &'static str {
        match self {
            VariantIndustry::General => "",
            VariantIndustry::Energy => "E",
            VariantIndustry::Finance => "F",
            VariantIndustry::Healthcare => "HC",
        }
    }
}

/// Why a run's dates were refused on save.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunValidationError {
    #[error("Expiration date must be later than start date.")]
    ExpirationBeforeStart,
    #[error("Expiration date must be later than end date.")]
    ExpirationBeforeEnd,
    #[error("End date must be later than start date.")]
    EndBeforeStart,
    #[error("Enrollment end must be later than enrollment start.")]
    EnrollmentEndBeforeStart,
}

/// One run of a course, as the rules need it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CourseRun {
    pub id: CourseRunId,
    pub course_id: CourseId,
    pub title: String,
    pub courseware_id: CoursewareId,
    pub run_tag: String,
    pub start_date: Option<Timestamp>,
    pub end_date: Option<Timestamp>,
    pub enrollment_start: Option<Timestamp>,
    pub enrollment_end: Option<Timestamp>,
    pub certificate_available_date: Option<Timestamp>,
    pub upgrade_deadline: Option<Timestamp>,
    pub expiration_date: Option<Timestamp>,
    pub live: bool,
    pub is_self_paced: bool,
    /// The modes the run offers (audit, verified).
    pub enrollment_modes: Vec<EnrollmentMode>,
    pub b2b_contract: Option<ContractId>,
    pub is_source_run: bool,
    pub is_primary_language: bool,
    pub language: String,
    pub has_courseware_url: bool,
    pub variant_length: VariantLength,
    pub variant_industry: VariantIndustry,
}

impl CourseRun {
    /// `live` and the enrollment window is open now. The start date must be set but may be
    /// in the future; an enrollment end equal to now is already closed.
    pub fn is_enrollable(&self, now: Timestamp) -> bool {
        self.live
            && self.start_date.is_some()
            && self.enrollment_start.is_some_and(|s| s <= now)
            && self.enrollment_end.is_none_or(|e| e > now)
    }

    /// A verified (paid) upgrade is allowed now. `has_product` is whether the run has any
    /// product, active or not.
    pub fn is_upgradable(&self, now: Timestamp, has_product: bool) -> bool {
        self.live
            && self.upgrade_deadline.is_none_or(|d| d > now)
            && has_product
            && self.offers_verified()
    }

    /// The run has ended.
    pub fn is_past(&self, now: Timestamp) -> bool {
        self.end_date.is_some_and(|e| e < now)
    }

    /// Enrollable although already past (self-paced archives).
    pub fn is_archived(&self, now: Timestamp) -> bool {
        self.is_enrollable(now) && self.is_past(now)
    }

    /// Started and not yet ended.
    pub fn is_in_progress(&self, now: Timestamp) -> bool {
        self.start_date.is_some_and(|s| s <= now) && self.end_date.is_none_or(|e| e > now)
    }

    /// Whether the run offers the paid `verified` mode.
    pub fn offers_verified(&self) -> bool {
        self.enrollment_modes.contains(&EnrollmentMode::Verified)
    }

    /// A template run for B2B re-runs; hidden from nearly every query.
    pub fn is_source(&self) -> bool {
        self.is_source_run || self.run_tag == "SOURCE"
    }

    /// Not a source run ("usable run").
    pub fn is_usable(&self) -> bool {
        !self.is_source()
    }

    /// Enrolling in a fake run makes no edX call.
    pub fn is_fake(&self) -> bool {
        self.run_tag.starts_with("fake")
    }

    /// Belongs to a B2B contract; public enrollment endpoints reject such runs.
    pub fn is_b2b(&self) -> bool {
        self.b2b_contract.is_some()
    }

    /// Full length and general industry (the language may differ).
    pub fn is_non_variant(&self) -> bool {
        self.variant_length == VariantLength::Full
            && self.variant_industry == VariantIndustry::General
    }

    /// The last `+` segment of the courseware id.
    pub fn course_number(&self) -> &str {
        self.courseware_id.course_number()
    }

    /// `{base}/learn/course/{courseware_id}/home`, or none when the run has no courseware URL.
    pub fn courseware_url(&self, openedx_course_base_url: &str) -> Option<String> {
        if !self.has_courseware_url || self.courseware_id.as_str().is_empty() {
            return None;
        }
        let base = openedx_course_base_url.trim_end_matches('/');
        Some(format!("{base}/learn/course/{}/home", self.courseware_id))
    }

    /// Date rules checked on every save.
    pub fn validate(&self) -> Result<(), RunValidationError> {
        if let (Some(start), Some(end)) = (self.start_date, self.end_date)
            && end < start
        {
            return Err(RunValidationError::EndBeforeStart);
        }
        if let (Some(start), Some(end)) = (self.enrollment_start, self.enrollment_end)
            && end < start
        {
            return Err(RunValidationError::EnrollmentEndBeforeStart);
        }
        if let Some(expiration) = self.expiration_date {
            if self.start_date.is_some_and(|s| expiration < s) {
                return Err(RunValidationError::ExpirationBeforeStart);
            }
            if self.end_date.is_some_and(|e| expiration < e) {
                return Err(RunValidationError::ExpirationBeforeEnd);
            }
        }
        Ok(())
    }

    /// Whether the run matches the language rule of "next run" selection: primary, or
    /// English/unspecified.
    pub(crate) fn is_default_language(&self) -> bool {
        self.is_primary_language || self.language.is_empty() || self.language == "en"
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    pub(crate) use crate::fixtures::{at, now, r1};

    #[test]
    fn courses_s1_default_run_predicates() {
        let r = r1();
        assert!(r.is_enrollable(now()));
        assert!(r.is_upgradable(now(), true));
        assert!(r.is_in_progress(now()));
        assert!(!r.is_past(now()));
        assert!(!r.is_archived(now()));
    }

    #[test]
    fn courses_s2_missing_dates_are_not_enrollable() {
        let mut r = r1();
        r.enrollment_start = None;
        assert!(!r.is_enrollable(now()));
        let mut r = r1();
        r.start_date = None;
        assert!(!r.is_enrollable(now()));
        assert!(!r.is_in_progress(now()));
    }

    #[test]
    fn courses_s3_enrollment_end_at_now_is_closed() {
        let mut r = r1();
        r.enrollment_end = Some(now());
        assert!(!r.is_enrollable(now()));
    }

    #[test]
    fn courses_s4_upgradability() {
        type Case = (&'static str, fn(&mut CourseRun), bool, bool);
        let cases: [Case; 5] = [
            ("null deadline", |r| r.upgrade_deadline = None, true, true),
            ("no product", |_| {}, false, false),
            (
                "audit only",
                |r| r.enrollment_modes = vec![EnrollmentMode::Audit],
                true,
                false,
            ),
            (
                "deadline passed",
                |r| r.upgrade_deadline = Some(at(2026, 2, 1)),
                true,
                false,
            ),
            ("not live", |r| r.live = false, true, false),
        ];
        for (name, change, has_product, expected) in cases {
            let mut r = r1();
            change(&mut r);
            assert_eq!(r.is_upgradable(now(), has_product), expected, "{name}");
        }
    }

    #[test]
    fn courses_s5_past_and_archived() {
        let mut r = r1();
        r.end_date = Some(at(2026, 2, 15));
        assert!(r.is_past(now()));
        assert!(r.is_archived(now()));
    }

    #[test]
    fn courses_s6_courseware_url() {
        let mut r = r1();
        assert_eq!(
            r.courseware_url("https://lms.example.com").as_deref(),
            Some("https://lms.example.com/learn/course/course-v1:MITx+6.001x+1T2026/home")
        );
        assert_eq!(
            r.courseware_url("https://lms.example.com/").as_deref(),
            Some("https://lms.example.com/learn/course/course-v1:MITx+6.001x+1T2026/home")
        );
        r.has_courseware_url = false;
        assert_eq!(r.courseware_url("https://lms.example.com"), None);
    }

    #[test]
    fn courses_s8_expiration_before_end_is_refused() {
        let mut r = r1();
        r.expiration_date = Some(at(2026, 5, 1));
        assert_eq!(r.validate(), Err(RunValidationError::ExpirationBeforeEnd));
        r.expiration_date = Some(at(2026, 1, 1));
        assert_eq!(r.validate(), Err(RunValidationError::ExpirationBeforeStart));
        r.expiration_date = Some(at(2026, 7, 1));
        assert_eq!(r.validate(), Ok(()));
    }

    #[test]
    fn source_fake_and_variant_runs() {
        let mut r = r1();
        assert!(r.is_usable() && !r.is_fake() && r.is_non_variant());
        r.run_tag = "SOURCE".into();
        assert!(r.is_source());
        r.run_tag = "fake-1".into();
        assert!(r.is_fake());
        r.variant_industry = VariantIndustry::Finance;
        assert!(!r.is_non_variant());
        assert_eq!(r.course_number(), "1T2026");
    }
}
