//! Course-run grades: the validated grade value, the edX sync upsert and the manual
//! override (courses spec 1.11, 3.1 and 3.2).

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::ids::{CourseRunId, UserId};

/// Largest grade a stored row may hold: edX extra credit can push a grade above 1.0.
pub const MAX_STORED_GRADE: f64 = 2.0;

/// Largest grade an administrator may set by hand.
pub const MAX_OVERRIDE_GRADE: f64 = 1.0;

/// Why a grade value was refused when stored.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum GradeError {
    /// Outside 0.0–2.0 (or not a number at all).
    #[error("grade {0} is outside the allowed range 0.0 - 2.0")]
    OutOfRange(f64),
}

/// A grade fraction, checked once: 0.0 ≤ grade ≤ 2.0 and never NaN.
///
/// Kept as `f64` because that is what edX reports and the original stores; only the derived
/// percentage goes through exact decimal rounding.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Grade(f64);

impl Grade {
    /// The zero grade (a zero grade deletes an active course-run certificate, 3.3).
    pub const ZERO: Grade = Grade(0.0);

    /// Checks the stored range 0.0–2.0. NaN and infinities fail the range check.
    pub fn new(value: f64) -> Result<Self, GradeError> {
        if (0.0..=MAX_STORED_GRADE).contains(&value) {
            Ok(Grade(value))
        } else {
            Err(GradeError::OutOfRange(value))
        }
    }

    /// The fraction as stored.
    pub fn value(self) -> f64 {
        self.0
    }

    /// Whether the grade is exactly zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0.0
    }

    /// `grade_percent`: the float product `grade × 100` rounded half-to-even to a whole
    /// number, as an integer-valued decimal (0.125 → 12, 0.375 → 38, and 0.285 → 28 because
    /// 0.285 × 100 is 28.499999999999996 in floating point). The product is taken in floating point, like
    /// the original, and then converted exactly so the tie-breaking sees the real value.
    pub fn percent(self) -> Decimal {
        // Every value of the checked range (0–200 after scaling) is representable, so the
        // conversion cannot fail; zero is the documented fallback of a null grade anyway.
        Decimal::from_f64_retain(self.0 * 100.0)
            .unwrap_or(Decimal::ZERO)
            .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven)
    }

    /// The grade rounded half-to-even to 2 decimal places, as learner records render it
    /// (3.9).
    pub fn rounded_2dp(self) -> Decimal {
        Decimal::from_f64_retain(self.0)
            .unwrap_or(Decimal::ZERO)
            .round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
    }
}

impl TryFrom<f64> for Grade {
    type Error = GradeError;

    fn try_from(value: f64) -> Result<Self, Self::Error> {
        Grade::new(value)
    }
}

impl From<Grade> for f64 {
    fn from(grade: Grade) -> Self {
        grade.0
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `grade_percent` of a possibly missing grade: 0 when there is none.
pub fn grade_percent(grade: Option<Grade>) -> Decimal {
    grade.map_or(Decimal::ZERO, Grade::percent)
}

/// A learner's grade in one course run (unique per user and run).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CourseRunGrade {
    pub user: UserId,
    pub run: CourseRunId,
    pub grade: Grade,
    /// Free text from edX (at most 10 characters when stored), or `A`–`F` when overridden.
    pub letter_grade: Option<String>,
    pub passed: bool,
    /// Set by a manual override; such grades are never overwritten by the edX sync.
    pub set_by_admin: bool,
}

impl CourseRunGrade {
    /// `grade_percent` of this row.
    pub fn grade_percent(&self) -> Decimal {
        self.grade.percent()
    }

    /// Whether the synced values (grade, passed, letter) differ from `other`'s.
    fn values_differ(&self, other: &CourseRunGrade) -> bool {
        self.grade != other.grade
            || self.passed != other.passed
            || self.letter_grade != other.letter_grade
    }
}

/// One grade record as reported by edX for a user in a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EdxGrade {
    /// The edX `percent` field: a fraction, normally 0–1.
    pub percent: f64,
    pub passed: bool,
    pub letter_grade: Option<String>,
}

/// What the grade sync does with one edX record (3.1).
#[derive(Clone, Debug, PartialEq)]
pub enum GradeSync {
    /// No row yet: insert this one (audit row written).
    Create(CourseRunGrade),
    /// The values differ and no administrator set the grade: update (audit row written).
    Update {
        before: CourseRunGrade,
        after: CourseRunGrade,
    },
    /// The stored row already holds the reported values.
    Unchanged(CourseRunGrade),
    /// The values differ but an administrator set the grade: the stored row wins.
    KeepAdminGrade(CourseRunGrade),
    /// The reported grade is outside 0.0–2.0: nothing is stored and no certificate
    /// processing happens for this record.
    SkipInvalid(GradeError),
}

impl GradeSync {
    /// The row as stored after the sync, which is what certificate processing (3.3) looks
    /// at; none for an invalid grade.
    pub fn stored_grade(&self) -> Option<&CourseRunGrade> {
        match self {
            GradeSync::Create(grade)
            | GradeSync::Update { after: grade, .. }
            | GradeSync::Unchanged(grade)
            | GradeSync::KeepAdminGrade(grade) => Some(grade),
            GradeSync::SkipInvalid(_) => None,
        }
    }

    /// Whether the sync writes to storage.
    pub fn writes(&self) -> bool {
        matches!(self, GradeSync::Create(_) | GradeSync::Update { .. })
    }
}

/// Decides the local upsert for an edX grade record (3.1): create when there is no row;
/// update only when the values differ and the row was not set by an administrator; skip
/// invalid grades entirely.
pub fn sync_grade(
    user: UserId,
    run: CourseRunId,
    reported: &EdxGrade,
    existing: Option<&CourseRunGrade>,
) -> GradeSync {
    let grade = match Grade::new(reported.percent) {
        Ok(grade) => grade,
        Err(error) => return GradeSync::SkipInvalid(error),
    };
    let incoming = CourseRunGrade {
        user,
        run,
        grade,
        letter_grade: reported.letter_grade.clone(),
        passed: reported.passed,
        set_by_admin: false,
    };
    match existing {
        None => GradeSync::Create(incoming),
        Some(current) if !current.values_differ(&incoming) => GradeSync::Unchanged(current.clone()),
        Some(current) if current.set_by_admin => GradeSync::KeepAdminGrade(current.clone()),
        Some(current) => GradeSync::Update {
            before: current.clone(),
            after: incoming,
        },
    }
}

/// Why a manual grade override was refused (3.2).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GradeOverrideError {
    #[error("Invalid value for grade. Allowed range: 0.0 - 1.0")]
    InvalidGrade,
    #[error("Invalid letter grade string. Allowed values: A-F")]
    InvalidLetterGrade,
    /// The override edits an existing row; it never creates one.
    #[error("No grade exists for this user and course run")]
    GradeNotFound,
}

/// A letter grade an administrator may set: exactly one upper-case letter `A`–`F`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OverrideLetter(char);

impl OverrideLetter {
    /// Accepts exactly one of `A`, `B`, `C`, `D`, `E`, `F` (so `b`, `A+` and `` fail).
    pub fn parse(text: &str) -> Result<Self, GradeOverrideError> {
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(letter @ 'A'..='F'), None) => Ok(OverrideLetter(letter)),
            _ => Err(GradeOverrideError::InvalidLetterGrade),
        }
    }

    /// The letter as text.
    pub fn as_string(self) -> String {
        self.0.to_string()
    }
}

impl TryFrom<String> for OverrideLetter {
    type Error = GradeOverrideError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        OverrideLetter::parse(&value)
    }
}

impl From<OverrideLetter> for String {
    fn from(letter: OverrideLetter) -> Self {
        letter.as_string()
    }
}

/// Applies a manual override (3.2) to an existing grade row. The grade is checked first
/// (0.0–1.0 inclusive), then the letter. The result is set by an administrator and passes
/// only when a force-pass is requested and the grade is not zero.
pub fn override_grade(
    existing: Option<&CourseRunGrade>,
    grade: f64,
    letter_grade: &str,
    force_pass: bool,
) -> Result<CourseRunGrade, GradeOverrideError> {
    if !(0.0..=MAX_OVERRIDE_GRADE).contains(&grade) {
        return Err(GradeOverrideError::InvalidGrade);
    }
    let letter = OverrideLetter::parse(letter_grade)?;
    let current = existing.ok_or(GradeOverrideError::GradeNotFound)?;
    let grade = Grade::new(grade).map_err(|_| GradeOverrideError::InvalidGrade)?;
    Ok(CourseRunGrade {
        grade,
        letter_grade: Some(letter.as_string()),
        passed: force_pass && !grade.is_zero(),
        set_by_admin: true,
        ..current.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn grade_row(value: f64, passed: bool) -> CourseRunGrade {
        CourseRunGrade {
            user: UserId(1),
            run: CourseRunId(1),
            grade: Grade::new(value).unwrap(),
            letter_grade: None,
            passed,
            set_by_admin: false,
        }
    }

    #[test]
    fn grade_range_is_checked() {
        let cases = [
            (0.0, true),
            (1.0, true),
            (1.5, true),
            (2.0, true),
            (2.0000001, false),
            (-0.01, false),
            (f64::NAN, false),
            (f64::INFINITY, false),
        ];
        for (value, ok) in cases {
            assert_eq!(Grade::new(value).is_ok(), ok, "{value}");
        }
    }

    #[test]
    fn grade_percent_rounds_half_to_even_after_float_product() {
        let cases = [
            (0.0, "0"),
            (0.25, "25"),
            (0.125, "12"), // 12.5 exactly → even
            (0.375, "38"), // 37.5 exactly → even
            (0.285, "28"), // 0.285 × 100 is 28.499999999999996 in floating point
            (0.855, "86"), // 0.855 × 100 rounds to exactly 85.5 in floating point → even
            (0.8, "80"),
            (1.0, "100"),
            (2.0, "200"),
            (0.994, "99"),
            (0.995, "100"), // 99.5 exactly in binary → even 100
        ];
        for (value, expected) in cases {
            let percent = Grade::new(value).unwrap().percent();
            assert_eq!(percent.to_string(), expected, "{value}");
            assert_eq!(percent.scale(), 0, "{value} is integer-valued");
        }
        assert_eq!(grade_percent(None), Decimal::ZERO);
    }

    #[test]
    fn grade_try_from_checks_range() {
        // serde deserialises through this conversion
        assert_eq!(Grade::try_from(0.5).map(f64::from), Ok(0.5));
        assert_eq!(Grade::try_from(2.5), Err(GradeError::OutOfRange(2.5)));
    }

    #[test]
    fn sync_decisions() {
        let reported = EdxGrade {
            percent: 0.8,
            passed: true,
            letter_grade: Some("Pass".into()),
        };
        let new = sync_grade(UserId(1), CourseRunId(1), &reported, None);
        let GradeSync::Create(created) = &new else {
            panic!("expected create, got {new:?}");
        };
        assert!(!created.set_by_admin && created.passed);
        assert!(new.writes());

        let same = sync_grade(UserId(1), CourseRunId(1), &reported, Some(created));
        assert_eq!(same, GradeSync::Unchanged(created.clone()));
        assert!(!same.writes());

        let old = grade_row(0.4, false);
        let update = sync_grade(UserId(1), CourseRunId(1), &reported, Some(&old));
        match &update {
            GradeSync::Update { before, after } => {
                assert_eq!(before, &old);
                assert_eq!(after.grade.value(), 0.8);
                assert!(after.passed);
                assert_eq!(after.letter_grade.as_deref(), Some("Pass"));
            }
            other => panic!("expected update, got {other:?}"),
        }

        let letter_only = EdxGrade {
            percent: 0.4,
            passed: false,
            letter_grade: Some("F".into()),
        };
        assert!(matches!(
            sync_grade(UserId(1), CourseRunId(1), &letter_only, Some(&old)),
            GradeSync::Update { .. }
        ));
    }

    #[test]
    fn sync_skips_invalid_grades_without_certificate_processing() {
        let reported = EdxGrade {
            percent: 2.5,
            passed: true,
            letter_grade: None,
        };
        let decision = sync_grade(UserId(1), CourseRunId(1), &reported, None);
        assert_eq!(
            decision,
            GradeSync::SkipInvalid(GradeError::OutOfRange(2.5))
        );
        assert_eq!(decision.stored_grade(), None);
        // extra credit up to 2.0 is fine
        let extra = EdxGrade {
            percent: 1.2,
            ..reported
        };
        assert!(matches!(
            sync_grade(UserId(1), CourseRunId(1), &extra, None),
            GradeSync::Create(_)
        ));
    }

    #[test]
    fn courses_s27_admin_grade_not_overwritten_by_sync() {
        let mut admin = grade_row(0.70, true);
        admin.set_by_admin = true;
        let reported = EdxGrade {
            percent: 0.40,
            passed: false,
            letter_grade: None,
        };
        let decision = sync_grade(UserId(1), CourseRunId(1), &reported, Some(&admin));
        assert_eq!(decision, GradeSync::KeepAdminGrade(admin.clone()));
        assert!(!decision.writes());
        let stored = decision.stored_grade().unwrap();
        assert_eq!(stored.grade.value(), 0.70);
        assert!(stored.passed && stored.set_by_admin);
    }

    #[test]
    fn courses_s28_override_validation() {
        let existing = grade_row(0.3, false);
        let overridden = override_grade(Some(&existing), 0.85, "B", true).unwrap();
        assert_eq!(overridden.grade.value(), 0.85);
        assert!(overridden.passed);
        assert!(overridden.set_by_admin);
        assert_eq!(overridden.letter_grade.as_deref(), Some("B"));
        assert_eq!(
            (overridden.user, overridden.run),
            (existing.user, existing.run)
        );

        let err = override_grade(Some(&existing), 0.85, "b", true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid letter grade string. Allowed values: A-F"
        );
        let err = override_grade(Some(&existing), 1.2, "B", true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value for grade. Allowed range: 0.0 - 1.0"
        );
    }

    #[test]
    fn override_table() {
        let existing = grade_row(0.3, true);
        type Case = (f64, &'static str, bool, Result<bool, GradeOverrideError>);
        let cases: [Case; 10] = [
            (0.0, "F", true, Ok(false)),  // force-pass of a zero grade does not pass
            (0.5, "C", false, Ok(false)), // no force-pass ⇒ failed
            (1.0, "A", true, Ok(true)),
            (0.5, "E", true, Ok(true)),
            (-0.1, "A", true, Err(GradeOverrideError::InvalidGrade)),
            (f64::NAN, "A", true, Err(GradeOverrideError::InvalidGrade)),
            (0.5, "G", true, Err(GradeOverrideError::InvalidLetterGrade)),
            (0.5, "A+", true, Err(GradeOverrideError::InvalidLetterGrade)),
            (0.5, "", true, Err(GradeOverrideError::InvalidLetterGrade)),
            // the grade is checked before the letter
            (1.5, "x", true, Err(GradeOverrideError::InvalidGrade)),
        ];
        for (grade, letter, force, expected) in cases {
            let got = override_grade(Some(&existing), grade, letter, force).map(|g| g.passed);
            assert_eq!(got, expected, "{grade} {letter} {force}");
        }
        assert_eq!(
            override_grade(None, 0.5, "A", true),
            Err(GradeOverrideError::GradeNotFound)
        );
    }
}
