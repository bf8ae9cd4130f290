//! The legal address (integrations spec 4.2): the write rules, the compliance check of missing
//! fields and the state code edX receives.

use serde::{Deserialize, Serialize};

use super::countries::{self, COUNTRIES_WITH_CHECKED_STATES, Country};
use super::field_errors::{FieldErrors, FieldRuleError, optional_text, trimmed};

/// Maximum length of `first_name` and `last_name`.
pub const NAME_MAX_CHARS: usize = 60;
/// Maximum length of `state` as accepted by the API.
pub const STATE_MAX_CHARS: usize = 10;
/// Maximum length of `postal_code`.
pub const POSTAL_CODE_MAX_CHARS: usize = 20;
/// Maximum length of `street_address_1`, `street_address_2` and `city`.
pub const STREET_CITY_MAX_CHARS: usize = 255;

/// The state codes edX accepts (after the `US-` prefix): the 50 states, DC and the three
/// armed-forces codes. ISO has no `US-AA`/`US-AE`/`US-AP`, so those never occur in valid
/// addresses; they are listed because they are part of edX's set.
pub const EDX_US_STATE_CODES: [&str; 54] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
    "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
    "WI", "WY", "DC", "AA", "AE", "AP",
];

/// Why a country value was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CountryCodeError {
    /// A generic field rule (required, blank, longer than 2 characters).
    #[error(transparent)]
    Field(#[from] FieldRuleError),
    /// Two characters, but not an ISO 3166-1 alpha-2 code.
    #[error("{0} is not a valid ISO 3166-1 country code")]
    Unknown(String),
}

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode(&'static str);

// Hand-written because the derive would bound `'de: 'static` for the `&'static str` field.
impl Serialize for CountryCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl CountryCode {
    /// Trims, refuses blank and over-long text with the framework's messages (so `United
    /// States` fails as "more than 2 characters"), then requires a known ISO 3166-1 code.
    /// Lower case is accepted and normalised (`us` → `US`).
    pub fn parse(text: &str) -> Result<Self, CountryCodeError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(FieldRuleError::Blank.into());
        }
        if trimmed.chars().count() > 2 {
            return Err(FieldRuleError::TooLong(2).into());
        }
        countries::country(&trimmed.to_ascii_uppercase())
            .map(|c| CountryCode(c.code))
            .ok_or_else(|| CountryCodeError::Unknown(trimmed.to_owned()))
    }

    /// The code text (e.g. `US`).
    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// The country's reference data.
    pub fn country(&self) -> Option<&'static Country> {
        countries::country(self.0)
    }

    /// Whether a state given with this country must be one of its ISO 3166-2 subdivisions.
    pub fn checks_state(&self) -> bool {
        COUNTRIES_WITH_CHECKED_STATES.contains(&self.0)
    }
}

impl TryFrom<String> for CountryCode {
    type Error = CountryCodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CountryCode> for String {
    fn from(value: CountryCode) -> Self {
        value.0.to_owned()
    }
}

impl std::fmt::Display for CountryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// A stored legal address. A new user gets an empty one (`LegalAddress::default()`); empty text
/// is `""`, an unset country or state is `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalAddress {
    /// Legal first name (≤60).
    pub first_name: String,
    /// Legal last name (≤60).
    pub last_name: String,
    /// ISO 3166-1 alpha-2 country.
    pub country: Option<CountryCode>,
    /// For US/CA an ISO 3166-2 code (`US-MA`); free text (≤10) elsewhere.
    pub state: Option<String>,
    /// Postal code, unchecked (≤20).
    pub postal_code: String,
    /// First street line (≤255).
    pub street_address_1: String,
    /// Second street line (≤255).
    pub street_address_2: String,
    /// City (≤255).
    pub city: String,
}

/// A legal address as written by a client (`PATCH users/me`, profile details). Absent and
/// null fields are both `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct LegalAddressInput {
    /// See [`LegalAddress::first_name`].
    pub first_name: Option<String>,
    /// See [`LegalAddress::last_name`].
    pub last_name: Option<String>,
    /// Required; an ISO 3166-1 alpha-2 code.
    pub country: Option<String>,
    /// See [`LegalAddress::state`].
    pub state: Option<String>,
    /// See [`LegalAddress::postal_code`].
    pub postal_code: Option<String>,
    /// See [`LegalAddress::street_address_1`].
    pub street_address_1: Option<String>,
    /// See [`LegalAddress::street_address_2`].
    pub street_address_2: Option<String>,
    /// See [`LegalAddress::city`].
    pub city: Option<String>,
}

/// The object-level state rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// A US/CA address whose state is not one of that country's ISO 3166-2 codes.
    #[error("Invalid state specified")]
    Invalid,
}

impl LegalAddressInput {
    /// Validates a write and returns the address to store.
    ///
    /// Field rules first (all reported together): `country` required, non-blank, ≤2 chars and
    /// ISO 3166-1; `state` ≤10; names ≤60; postal code ≤20; street lines and city ≤255; text is
    /// trimmed; absent optional text is stored as `""`, a blank state as `None`. Only when every
    /// field passes, the object rule: for US and CA a given state must be an ISO 3166-2 code of
    /// that country (case-insensitive, stored upper case), else `{"state": ["Invalid state
    /// specified"]}`. Other countries accept any state. Postal codes are not checked.
    pub fn validate(&self) -> Result<LegalAddress, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut text = |field: &str, value: &Option<String>, max: usize| {
            optional_text(&mut errors, field, value.as_deref(), max).unwrap_or_default()
        };
        let first_name = text("first_name", &self.first_name, NAME_MAX_CHARS);
        let last_name = text("last_name", &self.last_name, NAME_MAX_CHARS);
        let postal_code = text("postal_code", &self.postal_code, POSTAL_CODE_MAX_CHARS);
        let street_address_1 = text(
            "street_address_1",
            &self.street_address_1,
            STREET_CITY_MAX_CHARS,
        );
        let street_address_2 = text(
            "street_address_2",
            &self.street_address_2,
            STREET_CITY_MAX_CHARS,
        );
        let city = text("city", &self.city, STREET_CITY_MAX_CHARS);
        let state = optional_text(&mut errors, "state", self.state.as_deref(), STATE_MAX_CHARS)
            .filter(|s| !s.is_empty());
        let country = match trimmed(self.country.as_deref()) {
            None => {
                errors.add("country", FieldRuleError::Required.to_string());
                None
            }
            Some(value) => match CountryCode::parse(value) {
                Ok(code) => Some(code),
                Err(error) => {
                    errors.add("country", error.to_string());
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let state = match (&country, state) {
            (Some(country), Some(state)) if country.checks_state() => {
                match checked_subdivision(country, &state) {
                    Ok(code) => Some(code),
                    Err(error) => {
                        errors.add("state", error.to_string());
                        return Err(errors);
                    }
                }
            }
            (_, state) => state,
        };
        Ok(LegalAddress {
            first_name,
            last_name,
            country,
            state,
            postal_code,
            street_address_1,
            street_address_2,
            city,
        })
    }
}

/// The normalised subdivision code when `state` is one of `country`'s ISO 3166-2 codes.
fn checked_subdivision(country: &CountryCode, state: &str) -> Result<String, StateError> {
    let upper = state.to_ascii_uppercase();
    match countries::subdivision(&upper) {
        Some(sub) if sub.code.split_once('-').map(|(c, _)| c) == Some(country.as_str()) => {
            Ok(sub.code.to_owned())
        }
        _ => Err(StateError::Invalid),
    }
}

/// The fields `compliance_missing_fields` reports, in alphabetical order (the derived `Ord`
/// is that order, so sorting the enum sorts the names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplianceField {
    /// `city`
    City,
    /// `country`
    Country,
    /// `email` (of the user, not the address)
    Email,
    /// `first_name`
    FirstName,
    /// `last_name`
    LastName,
    /// `postal_code`
    PostalCode,
    /// `state`
    State,
    /// `street_address_1`
    #[serde(rename = "street_address_1")]
    StreetAddress1,
}

impl ComplianceField {
    /// The API field name.
    pub fn as_str(self) -> &'static str {
        match self {
            ComplianceField::City => "city",
            ComplianceField::Country => "country",
            ComplianceField::Email => "email",
            ComplianceField::FirstName => "first_name",
            ComplianceField::LastName => "last_name",
            ComplianceField::PostalCode => "postal_code",
            ComplianceField::State => "state",
            ComplianceField::StreetAddress1 => "street_address_1",
        }
    }
}

/// The `compliance_missing_fields` of an authenticated user: which of `first_name`,
/// `last_name`, `email`, `street_address_1`, `city`, `country`, `state`, `postal_code` are
/// empty (empty string or unset), sorted by name. A user without an address row misses every
/// address field. (Anonymous users get `[]`; that is the API layer's branch.)
pub fn compliance_missing_fields(
    address: Option<&LegalAddress>,
    email: &str,
) -> Vec<ComplianceField> {
    let empty = LegalAddress::default();
    let a = address.unwrap_or(&empty);
    let checks = [
        (ComplianceField::City, a.city.is_empty()),
        (ComplianceField::Country, a.country.is_none()),
        (ComplianceField::Email, email.is_empty()),
        (ComplianceField::FirstName, a.first_name.is_empty()),
        (ComplianceField::LastName, a.last_name.is_empty()),
        (ComplianceField::PostalCode, a.postal_code.is_empty()),
        (
            ComplianceField::State,
            a.state.as_deref().is_none_or(str::is_empty),
        ),
        (
            ComplianceField::StreetAddress1,
            a.street_address_1.is_empty(),
        ),
    ];
    let mut missing: Vec<ComplianceField> = checks
        .into_iter()
        .filter_map(|(field, is_missing)| is_missing.then_some(field))
        .collect();
    missing.sort();
    missing
}

impl LegalAddress {
    /// The state code sent to edX: the part after `US-` for a US address whose state is one
    /// of edX's codes ([`EDX_US_STATE_CODES`]); nothing otherwise (other countries, outlying
    /// areas such as `US-PR`, no state).
    pub fn edx_state_code(&self) -> Option<&str> {
        if self.country.as_ref().map(CountryCode::as_str) != Some("US") {
            return None;
        }
        let code = self.state.as_deref()?.strip_prefix("US-")?;
        EDX_US_STATE_CODES.contains(&code).then_some(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(country: Option<&str>, state: Option<&str>) -> LegalAddressInput {
        LegalAddressInput {
            first_name: Some("Test".into()),
            last_name: Some("User".into()),
            country: country.map(Into::into),
            state: state.map(Into::into),
            postal_code: Some("02139".into()),
            ..LegalAddressInput::default()
        }
    }

    fn country(code: &str) -> CountryCode {
        CountryCode::parse(code).unwrap()
    }

    #[test]
    fn country_code_parse() {
        let table: &[(&str, Result<&str, &str>)] = &[
            ("US", Ok("US")),
            (" jp ", Ok("JP")),
            ("ca", Ok("CA")),
            ("", Err("This field may not be blank.")),
            (
                "United States",
                Err("Ensure this field has no more than 2 characters."),
            ),
            (
                "USA",
                Err("Ensure this field has no more than 2 characters."),
            ),
            ("ZZ", Err("ZZ is not a valid ISO 3166-1 country code")),
            ("U", Err("U is not a valid ISO 3166-1 country code")),
        ];
        for (text, expected) in table {
            let got = CountryCode::parse(text)
                .map(|c| c.as_str())
                .map_err(|e| e.to_string());
            assert_eq!(got, expected.map_err(str::to_owned), "{text:?}");
        }
        assert!(country("US").checks_state());
        assert!(country("CA").checks_state());
        assert!(!country("JP").checks_state());
        assert_eq!(
            country("US").country().map(|c| c.name),
            Some("United States")
        );
    }

    #[test]
    fn integrations_s43_state_and_country_rules() {
        // (country, state, Ok(stored state) | Err((field, message)))
        type Expected = Result<Option<&'static str>, (&'static str, &'static str)>;
        let table: &[(Option<&str>, Option<&str>, Expected)] = &[
            (
                Some("US"),
                Some("US-XX"),
                Err(("state", "Invalid state specified")),
            ),
            (Some("US"), Some("US-MA"), Ok(Some("US-MA"))),
            (Some("US"), Some("us-ma"), Ok(Some("US-MA"))),
            (
                Some("US"),
                Some("MA"),
                Err(("state", "Invalid state specified")),
            ),
            (
                Some("US"),
                Some("CA-QC"),
                Err(("state", "Invalid state specified")),
            ),
            (Some("US"), Some("US-PR"), Ok(Some("US-PR"))),
            (Some("US"), None, Ok(None)),
            (Some("US"), Some(""), Ok(None)),
            (Some("CA"), Some("CA-QC"), Ok(Some("CA-QC"))),
            (
                Some("CA"),
                Some("Quebec"),
                Err(("state", "Invalid state specified")),
            ),
            (Some("JP"), Some("Tokyo"), Ok(Some("Tokyo"))),
            (Some("JP"), None, Ok(None)),
            (
                Some("United States"),
                Some("US-MA"),
                Err((
                    "country",
                    "Ensure this field has no more than 2 characters.",
                )),
            ),
            (None, None, Err(("country", "This field is required."))),
            (
                Some("  "),
                None,
                Err(("country", "This field may not be blank.")),
            ),
            (
                Some("JP"),
                Some("Tokyo-to-long"),
                Err(("state", "Ensure this field has no more than 10 characters.")),
            ),
        ];
        for (c, s, expected) in table {
            let got = input(*c, *s).validate();
            match expected {
                Ok(state) => {
                    let address = got.unwrap_or_else(|e| panic!("{c:?}/{s:?}: {e}"));
                    assert_eq!(address.state.as_deref(), *state, "{c:?}/{s:?}");
                }
                Err((field, message)) => {
                    let errors = got.expect_err("must fail");
                    assert_eq!(errors.messages(field), [*message], "{c:?}/{s:?}");
                    assert_eq!(errors.fields().count(), 1);
                }
            }
        }
    }

    #[test]
    fn field_lengths_are_reported_together() {
        let long = |n: usize| Some("x".repeat(n));
        let address = LegalAddressInput {
            first_name: long(61),
            last_name: long(60),
            country: Some("USA".into()),
            state: Some("US-XX".into()),
            postal_code: long(21),
            street_address_1: long(256),
            street_address_2: long(255),
            city: long(256),
        };
        let errors = address.validate().unwrap_err();
        assert_eq!(
            errors.fields().collect::<Vec<_>>(),
            [
                "city",
                "country",
                "first_name",
                "postal_code",
                "street_address_1"
            ]
        );
        // The object-level state rule only runs once every field is valid.
        assert!(errors.messages("state").is_empty());
    }

    #[test]
    fn validated_address_is_trimmed_and_complete() {
        let address = LegalAddressInput {
            first_name: Some(" Jane ".into()),
            last_name: Some("Doe".into()),
            country: Some("us".into()),
            state: Some("US-MA".into()),
            postal_code: Some("02139".into()),
            street_address_1: Some("77 Massachusetts Ave".into()),
            street_address_2: None,
            city: Some("Cambridge".into()),
        }
        .validate()
        .unwrap();
        assert_eq!(
            address,
            LegalAddress {
                first_name: "Jane".into(),
                last_name: "Doe".into(),
                country: Some(country("US")),
                state: Some("US-MA".into()),
                postal_code: "02139".into(),
                street_address_1: "77 Massachusetts Ave".into(),
                street_address_2: String::new(),
                city: "Cambridge".into(),
            }
        );
    }

    #[test]
    fn integrations_s47_compliance_missing_fields() {
        let address = input(Some("US"), Some("US-MA")).validate().unwrap();
        let missing = compliance_missing_fields(Some(&address), "test@example.com");
        let names: Vec<&str> = missing.iter().map(|f| f.as_str()).collect();
        assert_eq!(names, ["city", "street_address_1"]);

        let all: Vec<&str> = compliance_missing_fields(None, "")
            .iter()
            .map(|f| f.as_str())
            .collect();
        assert_eq!(
            all,
            [
                "city",
                "country",
                "email",
                "first_name",
                "last_name",
                "postal_code",
                "state",
                "street_address_1"
            ]
        );
        let empty_row = compliance_missing_fields(Some(&LegalAddress::default()), "a@b.c");
        assert_eq!(empty_row.len(), 7);
        assert!(!empty_row.contains(&ComplianceField::Email));
        // street_address_2 is never required.
        let mut full = address.clone();
        full.city = "Cambridge".into();
        full.street_address_1 = "77 Massachusetts Ave".into();
        assert!(compliance_missing_fields(Some(&full), "a@b.c").is_empty());
    }

    #[test]
    fn compliance_field_names_sort_like_the_enum() {
        let all = compliance_missing_fields(None, "");
        let mut names: Vec<&str> = all.iter().map(|f| f.as_str()).collect();
        let before = names.clone();
        names.sort_unstable();
        assert_eq!(names, before);
    }

    #[test]
    fn edx_state_codes() {
        let table: &[(&str, Option<&str>, Option<&str>)] = &[
            ("US", Some("US-MA"), Some("MA")),
            ("US", Some("US-DC"), Some("DC")),
            ("US", Some("US-PR"), None),
            ("US", None, None),
            ("CA", Some("CA-QC"), None),
            ("JP", Some("Tokyo"), None),
        ];
        for (c, s, expected) in table {
            let address = LegalAddress {
                country: Some(country(c)),
                state: s.map(Into::into),
                ..LegalAddress::default()
            };
            assert_eq!(address.edx_state_code(), *expected, "{c}/{s:?}");
        }
        assert_eq!(EDX_US_STATE_CODES.len(), 54);
        // Every edX code except the armed-forces ones is an ISO subdivision.
        for code in EDX_US_STATE_CODES {
            let iso = countries::subdivision(&format!("US-{code}")).is_some();
            assert_eq!(iso, !["AA", "AE", "AP"].contains(&code), "{code}");
        }
    }

    mod props {
        use proptest::prelude::*;

        use super::super::*;

        fn to_input(a: &LegalAddress) -> LegalAddressInput {
            LegalAddressInput {
                first_name: Some(a.first_name.clone()),
                last_name: Some(a.last_name.clone()),
                country: a.country.map(String::from),
                state: a.state.clone(),
                postal_code: Some(a.postal_code.clone()),
                street_address_1: Some(a.street_address_1.clone()),
                street_address_2: Some(a.street_address_2.clone()),
                city: Some(a.city.clone()),
            }
        }

        proptest! {
            /// Validation is idempotent: a stored address validates to itself, and the
            /// compliance list is always sorted and duplicate-free.
            #[test]
            fn validated_addresses_are_fixed_points(
                country in prop::sample::select(vec!["US", "us", "CA", "JP", "FR", "ZZ", "USA"]),
                state in prop::option::of(prop::sample::select(
                    vec!["US-MA", "us-ny", "CA-QC", "Tokyo", "", "US-XX", "XX"])),
                first in "[ A-Za-z]{0,70}",
                city in "[ A-Za-z]{0,20}",
                postal in "[0-9 -]{0,25}",
            ) {
                let input = LegalAddressInput {
                    first_name: Some(first),
                    country: Some(country.to_owned()),
                    state: state.map(str::to_owned),
                    postal_code: Some(postal),
                    city: Some(city),
                    ..LegalAddressInput::default()
                };
                if let Ok(address) = input.validate() {
                    prop_assert_eq!(to_input(&address).validate(), Ok(address.clone()));
                    let missing = compliance_missing_fields(Some(&address), "x@y.z");
                    prop_assert!(missing.windows(2).all(|w| w[0] < w[1]));
                }
            }
        }
    }
}
