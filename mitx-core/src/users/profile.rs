//! The user profile (integrations spec 4.3): choice fields and their edX codes, the
//! year-of-birth rule, `addl_field_flag`, the profile parts of the user APIs (4.5) and the
//! onboarding decision of `/login/` (3.4).

use serde::{Deserialize, Serialize};

use super::field_errors::{FieldErrors, FieldRuleError, optional_text, required_text};

/// Maximum length of `company` and `job_title`.
pub const COMPANY_JOB_TITLE_MAX_CHARS: usize = 128;
/// Maximum length of `industry`, `job_function` and `leadership_level`.
pub const SHORT_TEXT_MAX_CHARS: usize = 60;
/// The minimum age, in calendar years, of a learner giving a year of birth.
pub const MINIMUM_AGE_YEARS: i64 = 13;

/// Gender, stored as its short code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Gender {
    /// `m`
    #[serde(rename = "m")]
    Male,
    /// `f`
    #[serde(rename = "f")]
    Female,
    /// `t`
    #[serde(rename = "t")]
    Transgender,
    /// `nb`
    #[serde(rename = "nb")]
    NonBinary,
    /// `o` (other / prefer not to say)
    /// Other education (edX `other`).
    #[serde(rename = "o")]
    Other,
}

impl Gender {
    /// Every gender, in the original's choice order.
    pub const ALL: [Gender; 5] = [
        Gender::Male,
        Gender::Female,
        Gender::Transgender,
        Gender::NonBinary,
        Gender::Other,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Gender::Male => "m",
            Gender::Female => "f",
            Gender::Transgender => "t",
            Gender::NonBinary => "nb",
            Gender::Other => "o",
        }
    }

    /// The code by its text (exact).
    pub fn from_code(code: &str) -> Option<Gender> {
        Self::ALL.into_iter().find(|g| g.code() == code)
    }

    /// The code edX accepts: it only knows `m`, `f` and `o`, so the others become `o`.
    pub fn edx_code(self) -> &'static str {
        match self {
            Gender::Male => "m",
            Gender::Female => "f",
            Gender::Transgender | Gender::NonBinary | Gender::Other => "o",
        }
    }
}

/// A number restricted to a fixed list of choices (the profile's bracket fields).
macro_rules! numeric_choice {
    ($(#[$doc:meta])* $name:ident, [$($choice:expr),* $(,)?]) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub struct $name(i64);

        impl $name {
            /// The allowed values.
            pub const CHOICES: [i64; [$($choice),*].len()] = [$($choice),*];

            /// The stored number.
            pub fn value(self) -> i64 {
                self.0
            }
        }

        impl TryFrom<i64> for $name {
            type Error = FieldRuleError;
            fn try_from(value: i64) -> Result<Self, Self::Error> {
                if Self::CHOICES.contains(&value) {
                    Ok(Self(value))
                } else {
                    Err(FieldRuleError::InvalidChoice(value.to_string()))
                }
            }
        }

        impl From<$name> for i64 {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

numeric_choice!(
    /// Company size: the upper bound of the employee-count bracket (0 = other / don't know).
    CompanySize,
    [1, 9, 99, 999, 9999, 10000, 0]
);

numeric_choice!(
    /// Years of experience: the upper bound of the bracket (21 = more than 20, 0 = prefer not
    /// to say).
    YearsExperience,
    [2, 5, 10, 15, 20, 21, 0]
);

/// Highest level of education, stored as its full label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HighestEducation {
    /// Doctorate (edX `p`).
    #[serde(rename = "Doctorate")]
    Doctorate,
    /// Master's or professional degree (edX `m`).
    #[serde(rename = "Master's or professional degree")]
    Masters,
    /// Bachelor's degree (edX `b`).
    #[serde(rename = "Bachelor's degree")]
    Bachelors,
    /// Associate degree (edX `a`).
    #[serde(rename = "Associate degree")]
    Associate,
    /// Secondary/high school (edX `hs`).
    #[serde(rename = "Secondary/high school")]
    Secondary,
    /// Junior secondary/junior high/middle school (edX `jhs`).
    #[serde(rename = "Junior secondary/junior high/middle school")]
    JuniorSecondary,
    /// Elementary/primary school (edX `el`).
    #[serde(rename = "Elementary/primary school")]
    Elementary,
    /// No formal education (edX `none`).
    #[serde(rename = "No formal education")]
    NoFormalEducation,
    #[serde(rename = "Other education")]
    Other,
}

impl HighestEducation {
    /// Every level, in the original's choice order.
    pub const ALL: [HighestEducation; 9] = [
        HighestEducation::Doctorate,
        HighestEducation::Masters,
        HighestEducation::Bachelors,
        HighestEducation::Associate,
        HighestEducation::Secondary,
        HighestEducation::JuniorSecondary,
        HighestEducation::Elementary,
        HighestEducation::NoFormalEducation,
        HighestEducation::Other,
    ];

    /// The stored label (also the API value).
    pub fn label(self) -> &'static str {
        match self {
            HighestEducation::Doctorate => "Doctorate",
            HighestEducation::Masters => "Master's or professional degree",
            HighestEducation::Bachelors => "Bachelor's degree",
            HighestEducation::Associate => "Associate degree",
            HighestEducation::Secondary => "Secondary/high school",
            HighestEducation::JuniorSecondary => "Junior secondary/junior high/middle school",
            HighestEducation::Elementary => "Elementary/primary school",
            HighestEducation::NoFormalEducation => "No formal education",
            HighestEducation::Other => "Other education",
        }
    }

    /// The level by its label (exact).
    pub fn from_label(label: &str) -> Option<HighestEducation> {
        Self::ALL.into_iter().find(|e| e.label() == label)
    }

    /// edX's `level_of_education` code.
    pub fn edx_code(self) -> &'static str {
        match self {
            HighestEducation::Doctorate => "p",
            HighestEducation::Masters => "m",
            HighestEducation::Bachelors => "b",
            HighestEducation::Associate => "a",
            HighestEducation::Secondary => "hs",
            HighestEducation::JuniorSecondary => "jhs",
            HighestEducation::Elementary => "el",
            HighestEducation::NoFormalEducation => "none",
            HighestEducation::Other => "other",
        }
    }
}

/// A stored user profile. A new user gets an empty one (`UserProfile::default()`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    /// Gender.
    pub gender: Option<Gender>,
    /// Year of birth.
    pub year_of_birth: Option<i64>,
    /// ≤128
    pub company: String,
    /// ≤128
    pub job_title: String,
    /// ≤60
    pub industry: String,
    /// ≤60
    pub job_function: String,
    /// ≤60
    pub leadership_level: String,
    /// Company size bracket.
    pub company_size: Option<CompanySize>,
    /// Years-of-experience bracket.
    pub years_experience: Option<YearsExperience>,
    /// Highest level of education.
    pub highest_education: Option<HighestEducation>,
    /// The learner is a student.
    pub type_is_student: bool,
    /// The learner is a professional.
    pub type_is_professional: bool,
    /// The learner is an educator.
    pub type_is_educator: bool,
    /// The learner is something else.
    pub type_is_other: bool,
    /// Whether the "additional details" step has been filled in; see [`addl_field_flag`].
    pub addl_field_flag: bool,
    /// Whether the learner went through onboarding (see [`needs_onboarding`]).
    pub completed_onboarding: bool,
}

impl UserProfile {
    /// The `addl_field_flag` these values imply (see [`addl_field_flag`]).
    pub fn computed_addl_field_flag(&self) -> bool {
        addl_field_flag(
            self.highest_education,
            [
                self.type_is_student,
                self.type_is_professional,
                self.type_is_educator,
                self.type_is_other,
            ],
        )
    }
}

/// `addl_field_flag` = a highest education is set and at least one of the four `type_is_*`
/// flags (student, professional, educator, other) is true.
pub fn addl_field_flag(highest_education: Option<HighestEducation>, types: [bool; 4]) -> bool {
    highest_education.is_some() && types.into_iter().any(|t| t)
}

/// The year-of-birth rule of the user APIs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum YearOfBirthError {
    /// Missing, or less than 13 calendar years before the current year.
    #[error("Year of Birth provided is under 13")]
    UnderThirteen,
}

/// Accepts a year of birth sent through the user APIs: present and `current_year − value ≥ 13`
/// (calendar years, so someone born in December of `current_year − 13` passes in January).
/// A missing year gets the same message, as in the original.
pub fn check_year_of_birth(value: Option<i64>, current_year: i32) -> Result<i64, YearOfBirthError> {
    match value {
        Some(year) if i64::from(current_year).saturating_sub(year) >= MINIMUM_AGE_YEARS => Ok(year),
        _ => Err(YearOfBirthError::UnderThirteen),
    }
}

/// The `user_profile` object of `PATCH users/me` and of the profile-details form. Absent and
/// null fields leave the stored value unchanged; an empty string clears a text or choice
/// field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct UserProfileInput {
    /// Gender.
    pub gender: Option<String>,
    /// Year of birth.
    pub year_of_birth: Option<i64>,
    /// Employer (≤128).
    pub company: Option<String>,
    /// Job title (≤128).
    pub job_title: Option<String>,
    /// Industry (≤60).
    pub industry: Option<String>,
    /// Job function (≤60).
    pub job_function: Option<String>,
    /// Leadership level (≤60).
    pub leadership_level: Option<String>,
    /// Company size bracket.
    pub company_size: Option<i64>,
    /// Years-of-experience bracket.
    pub years_experience: Option<i64>,
    /// Highest level of education.
    pub highest_education: Option<String>,
    /// The learner is a student.
    pub type_is_student: Option<bool>,
    /// The learner is a professional.
    pub type_is_professional: Option<bool>,
    /// The learner is an educator.
    pub type_is_educator: Option<bool>,
    /// The learner is something else.
    pub type_is_other: Option<bool>,
}

impl UserProfileInput {
    /// Validates the object against `current` and returns the profile to store, with
    /// `addl_field_flag` recomputed (a user update carrying a profile always recomputes it).
    ///
    /// `year_of_birth` must pass [`check_year_of_birth`] (so it is required here); choices
    /// must be known (`"<v>" is not a valid choice.`); text lengths as in [`UserProfile`].
    pub fn apply_to(
        &self,
        current: &UserProfile,
        current_year: i32,
    ) -> Result<UserProfile, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut next = current.clone();
        match check_year_of_birth(self.year_of_birth, current_year) {
            Ok(year) => next.year_of_birth = Some(year),
            Err(error) => errors.add("year_of_birth", error.to_string()),
        }
        apply_common(
            &mut errors,
            &mut next,
            CommonFields {
                gender: self.gender.as_deref(),
                company: self.company.as_deref(),
                job_title: self.job_title.as_deref(),
                industry: self.industry.as_deref(),
                job_function: self.job_function.as_deref(),
                leadership_level: self.leadership_level.as_deref(),
                company_size: self.company_size,
                years_experience: self.years_experience,
                highest_education: self.highest_education.as_deref(),
            },
        );
        let flags = [
            (&mut next.type_is_student, self.type_is_student),
            (&mut next.type_is_professional, self.type_is_professional),
            (&mut next.type_is_educator, self.type_is_educator),
            (&mut next.type_is_other, self.type_is_other),
        ];
        for (slot, value) in flags {
            if let Some(value) = value {
                *slot = value;
            }
        }
        next.addl_field_flag = next.computed_addl_field_flag();
        errors.into_result(next)
    }
}

/// A number sent either as a JSON number or as text (form posts send text).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum NumberOrText {
    /// A JSON number.
    Number(i64),
    /// A string.
    Text(String),
}

/// The body of `POST /api/profile/extra/`: `gender`, `birth_year`, `company`, `job_title`
/// required and non-blank; the rest optional. `birth_year` is checked for presence only and
/// never stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ProfileExtraInput {
    /// Gender.
    pub gender: Option<String>,
    /// Required, never stored.
    pub birth_year: Option<NumberOrText>,
    /// Employer (≤128).
    pub company: Option<String>,
    /// Job title (≤128).
    pub job_title: Option<String>,
    /// Industry (≤60).
    pub industry: Option<String>,
    /// Job function (≤60).
    pub job_function: Option<String>,
    /// Years-of-experience bracket.
    pub years_experience: Option<i64>,
    /// Company size bracket.
    pub company_size: Option<i64>,
    /// Leadership level (≤60).
    pub leadership_level: Option<String>,
    /// Highest level of education.
    pub highest_education: Option<String>,
}

impl ProfileExtraInput {
    /// The profile to store when the whole form is valid. The endpoint applies nothing (and
    /// still answers 200) when this is an error: it is all or nothing. `addl_field_flag` is
    /// left as stored (only user updates recompute it).
    pub fn apply_to(&self, current: &UserProfile) -> Result<UserProfile, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut next = current.clone();
        for (field, value) in [
            ("gender", self.gender.as_deref()),
            ("company", self.company.as_deref()),
            ("job_title", self.job_title.as_deref()),
        ] {
            // Presence and non-blankness only; lengths and choices are checked below.
            required_text(&mut errors, field, value, usize::MAX);
        }
        match &self.birth_year {
            None => errors.add("birth_year", FieldRuleError::Required.to_string()),
            Some(NumberOrText::Text(text)) if text.trim().is_empty() => {
                errors.add("birth_year", FieldRuleError::Blank.to_string());
            }
            Some(_) => {}
        }
        if errors.is_empty() {
            apply_common(
                &mut errors,
                &mut next,
                CommonFields {
                    gender: self.gender.as_deref(),
                    company: self.company.as_deref(),
                    job_title: self.job_title.as_deref(),
                    industry: self.industry.as_deref(),
                    job_function: self.job_function.as_deref(),
                    leadership_level: self.leadership_level.as_deref(),
                    company_size: self.company_size,
                    years_experience: self.years_experience,
                    highest_education: self.highest_education.as_deref(),
                },
            );
        }
        errors.into_result(next)
    }
}

/// The profile fields shared by the user update and the extra-details form.
struct CommonFields<'a> {
    gender: Option<&'a str>,
    company: Option<&'a str>,
    job_title: Option<&'a str>,
    industry: Option<&'a str>,
    job_function: Option<&'a str>,
    leadership_level: Option<&'a str>,
    company_size: Option<i64>,
    years_experience: Option<i64>,
    highest_education: Option<&'a str>,
}

/// Validates and applies the shared fields: absent = unchanged, `""` clears.
fn apply_common(errors: &mut FieldErrors, next: &mut UserProfile, fields: CommonFields<'_>) {
    let texts = [
        (
            "company",
            fields.company,
            COMPANY_JOB_TITLE_MAX_CHARS,
            &mut next.company,
        ),
        (
            "job_title",
            fields.job_title,
            COMPANY_JOB_TITLE_MAX_CHARS,
            &mut next.job_title,
        ),
        (
            "industry",
            fields.industry,
            SHORT_TEXT_MAX_CHARS,
            &mut next.industry,
        ),
        (
            "job_function",
            fields.job_function,
            SHORT_TEXT_MAX_CHARS,
            &mut next.job_function,
        ),
        (
            "leadership_level",
            fields.leadership_level,
            SHORT_TEXT_MAX_CHARS,
            &mut next.leadership_level,
        ),
    ];
    for (field, value, max, slot) in texts {
        if let Some(text) = optional_text(errors, field, value, max) {
            *slot = text;
        }
    }
    if let Some(code) = fields.gender.map(str::trim) {
        match (code, Gender::from_code(code)) {
            ("", _) => next.gender = None,
            (_, Some(gender)) => next.gender = Some(gender),
            (_, None) => errors.add(
                "gender",
                FieldRuleError::InvalidChoice(code.into()).to_string(),
            ),
        }
    }
    if let Some(label) = fields.highest_education.map(str::trim) {
        match (label, HighestEducation::from_label(label)) {
            ("", _) => next.highest_education = None,
            (_, Some(level)) => next.highest_education = Some(level),
            (_, None) => errors.add(
                "highest_education",
                FieldRuleError::InvalidChoice(label.into()).to_string(),
            ),
        }
    }
    if let Some(value) = fields.company_size {
        match CompanySize::try_from(value) {
            Ok(size) => next.company_size = Some(size),
            Err(error) => errors.add("company_size", error.to_string()),
        }
    }
    if let Some(value) = fields.years_experience {
        match YearsExperience::try_from(value) {
            Ok(years) => next.years_experience = Some(years),
            Err(error) => errors.add("years_experience", error.to_string()),
        }
    }
}

/// Whether `GET /login/` sends an authenticated learner to the new-user onboarding page
/// (setting `completed_onboarding`) instead of the target: not onboarded (neither the flag
/// nor any course-run enrollment, active or not) and `skip_onboarding` absent or `0`.
pub fn needs_onboarding(
    completed_onboarding: bool,
    has_any_run_enrollment: bool,
    skip_onboarding: Option<&str>,
) -> bool {
    let onboarded = completed_onboarding || has_any_run_enrollment;
    let skip = skip_onboarding.is_some_and(|v| v != "0");
    !onboarded && !skip
}

#[cfg(test)]
mod tests {
    use super::*;

    const YEAR: i32 = 2024;

    #[test]
    fn integrations_s45_year_of_birth_under_13() {
        let table: &[(Option<i64>, bool)] = &[
            (Some(2014), false), // current year − 10
            (Some(2012), false), // 12
            (Some(2011), true),  // exactly 13
            (Some(1980), true),
            (Some(2030), false), // in the future
            (None, false),
        ];
        for (year, ok) in table {
            let got = check_year_of_birth(*year, YEAR);
            assert_eq!(got.is_ok(), *ok, "{year:?}");
            if let Err(error) = got {
                assert_eq!(error.to_string(), "Year of Birth provided is under 13");
            }
        }
        let input = UserProfileInput {
            year_of_birth: Some(i64::from(YEAR) - 10),
            ..UserProfileInput::default()
        };
        let errors = input.apply_to(&UserProfile::default(), YEAR).unwrap_err();
        assert_eq!(
            errors.messages("year_of_birth"),
            ["Year of Birth provided is under 13"]
        );
    }

    #[test]
    fn integrations_s46_addl_field_flag() {
        let base = UserProfileInput {
            year_of_birth: Some(1980),
            highest_education: Some("Doctorate".into()),
            ..UserProfileInput::default()
        };
        let educator = UserProfileInput {
            type_is_educator: Some(true),
            ..base.clone()
        };
        let with_flag = educator.apply_to(&UserProfile::default(), YEAR).unwrap();
        assert!(with_flag.addl_field_flag);
        assert_eq!(
            with_flag.highest_education,
            Some(HighestEducation::Doctorate)
        );
        assert!(with_flag.type_is_educator);

        let education_only = base.apply_to(&UserProfile::default(), YEAR).unwrap();
        assert!(!education_only.addl_field_flag);

        // Recomputed from the merged profile: a stored flag that no longer holds is cleared.
        let stale = UserProfile {
            addl_field_flag: true,
            ..UserProfile::default()
        };
        let types_only = UserProfileInput {
            year_of_birth: Some(1980),
            type_is_student: Some(true),
            ..UserProfileInput::default()
        };
        assert!(!types_only.apply_to(&stale, YEAR).unwrap().addl_field_flag);

        let table: &[(Option<HighestEducation>, [bool; 4], bool)] = &[
            (None, [true, true, true, true], false),
            (Some(HighestEducation::Other), [false; 4], false),
            (
                Some(HighestEducation::Other),
                [false, false, false, true],
                true,
            ),
            (
                Some(HighestEducation::Bachelors),
                [true, false, false, false],
                true,
            ),
        ];
        for (education, types, expected) in table {
            assert_eq!(addl_field_flag(*education, *types), *expected);
        }
    }

    #[test]
    fn profile_input_choices_and_lengths() {
        let current = UserProfile {
            company: "MIT".into(),
            gender: Some(Gender::Female),
            ..UserProfile::default()
        };
        let bad = UserProfileInput {
            year_of_birth: Some(1980),
            gender: Some("x".into()),
            company_size: Some(50),
            years_experience: Some(3),
            highest_education: Some("PhD".into()),
            job_title: Some("j".repeat(129)),
            industry: Some("i".repeat(61)),
            ..UserProfileInput::default()
        };
        let errors = bad.apply_to(&current, YEAR).unwrap_err();
        assert_eq!(errors.messages("gender"), ["\"x\" is not a valid choice."]);
        assert_eq!(
            errors.messages("company_size"),
            ["\"50\" is not a valid choice."]
        );
        assert_eq!(
            errors.messages("years_experience"),
            ["\"3\" is not a valid choice."]
        );
        assert_eq!(
            errors.messages("highest_education"),
            ["\"PhD\" is not a valid choice."]
        );
        assert_eq!(
            errors.messages("job_title"),
            ["Ensure this field has no more than 128 characters."]
        );
        assert_eq!(
            errors.messages("industry"),
            ["Ensure this field has no more than 60 characters."]
        );

        let good = UserProfileInput {
            year_of_birth: Some(1980),
            gender: Some("".into()),
            company_size: Some(10000),
            years_experience: Some(21),
            job_title: Some(" Engineer ".into()),
            ..UserProfileInput::default()
        };
        let next = good.apply_to(&current, YEAR).unwrap();
        assert_eq!(next.gender, None); // "" clears
        assert_eq!(next.company, "MIT"); // absent = unchanged
        assert_eq!(next.job_title, "Engineer");
        assert_eq!(next.company_size.map(CompanySize::value), Some(10000));
        assert_eq!(next.years_experience.map(YearsExperience::value), Some(21));
        assert_eq!(next.year_of_birth, Some(1980));
    }

    #[test]
    fn edx_codes() {
        let genders: Vec<&str> = Gender::ALL.iter().map(|g| g.edx_code()).collect();
        assert_eq!(genders, ["m", "f", "o", "o", "o"]);
        for g in Gender::ALL {
            assert_eq!(Gender::from_code(g.code()), Some(g));
        }
        let levels: Vec<&str> = HighestEducation::ALL.iter().map(|e| e.edx_code()).collect();
        assert_eq!(
            levels,
            ["p", "m", "b", "a", "hs", "jhs", "el", "none", "other"]
        );
        for e in HighestEducation::ALL {
            assert_eq!(HighestEducation::from_label(e.label()), Some(e));
        }
    }

    #[test]
    fn profile_extra_is_all_or_nothing() {
        let current = UserProfile::default();
        let complete = ProfileExtraInput {
            gender: Some("nb".into()),
            birth_year: Some(NumberOrText::Text("1990".into())),
            company: Some("Acme".into()),
            job_title: Some("Engineer".into()),
            highest_education: Some("Bachelor's degree".into()),
            ..ProfileExtraInput::default()
        };
        let next = complete.apply_to(&current).unwrap();
        assert_eq!(next.gender, Some(Gender::NonBinary));
        assert_eq!(next.company, "Acme");
        assert_eq!(next.year_of_birth, None); // birth_year is never stored
        assert!(!next.addl_field_flag); // not recomputed here

        let table: &[(ProfileExtraInput, &str, &str)] = &[
            (
                ProfileExtraInput {
                    company: Some(" ".into()),
                    ..complete.clone()
                },
                "company",
                "This field may not be blank.",
            ),
            (
                ProfileExtraInput {
                    birth_year: None,
                    ..complete.clone()
                },
                "birth_year",
                "This field is required.",
            ),
            (
                ProfileExtraInput {
                    gender: None,
                    ..complete.clone()
                },
                "gender",
                "This field is required.",
            ),
            (
                ProfileExtraInput {
                    company_size: Some(5),
                    ..complete.clone()
                },
                "company_size",
                "\"5\" is not a valid choice.",
            ),
        ];
        for (input, field, message) in table {
            let errors = input.apply_to(&current).unwrap_err();
            assert_eq!(errors.messages(field), [*message], "{field}");
        }
    }

    #[test]
    fn integrations_s38_onboarding_decision() {
        let table: &[(bool, bool, Option<&str>, bool)] = &[
            (false, false, None, true), // s38: no enrollments, not onboarded
            (false, false, Some("0"), true),
            (false, false, Some("1"), false),
            (true, false, None, false),
            (false, true, None, false), // any run enrollment counts, active or not
        ];
        for (completed, enrolled, skip, expected) in table {
            assert_eq!(
                needs_onboarding(*completed, *enrolled, *skip),
                *expected,
                "{completed} {enrolled} {skip:?}"
            );
        }
    }
}
