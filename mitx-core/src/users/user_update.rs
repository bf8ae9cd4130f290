//! The payload rules of the user write APIs (integrations spec 4.5): `PATCH users/me` (and
//! `users/current_user`) and `POST /api/profile/details/`. The HTTP layer wraps the returned
//! [`FieldErrors`] (`{"errors": …}` for the users endpoints, plain for profile details).

use serde::{Deserialize, Deserializer};

use super::field_errors::{FieldErrors, FieldRuleError, optional_text, required_text};
use super::legal_address::{LegalAddress, LegalAddressInput};
use super::profile::{UserProfile, UserProfileInput};
use super::username::PublicUsername;

/// Maximum length of a user's full name on updates.
pub const USER_NAME_MAX_CHARS: usize = 255;
/// Length bounds of the name on the profile-details form.
pub const PROFILE_DETAILS_NAME_CHARS: (usize, usize) = (2, 254);

/// The message for a malformed email address (the framework's text).
pub const INVALID_EMAIL: &str = "Enter a valid email address.";

/// Whether `text` has the shape of an email address: at most 254 characters, no whitespace,
/// one `@` between a non-empty local part and a domain of dot-separated non-empty labels
/// (at least two).
pub fn is_valid_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let labels: Vec<&str> = domain.split('.').collect();
    text.chars().count() <= 254
        && !text.chars().any(char::is_whitespace)
        && !local.is_empty()
        && !domain.contains('@')
        && labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty())
}

/// A JSON key that can be absent, `null` or a value, for fields where the two first differ.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// The key is not in the body.
    #[default]
    Missing,
    /// The key is `null`.
    Null,
    /// The key has a value.
    Value(T),
}

/// Serde helper: used with `#[serde(default, deserialize_with = "patch")]`, a present key
/// becomes `Null` or `Value` and an absent one stays `Missing` (the default).
pub fn patch<'de, D, T>(deserializer: D) -> Result<Patch<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(match Option::<T>::deserialize(deserializer)? {
        None => Patch::Null,
        Some(value) => Patch::Value(value),
    })
}

/// The body of `PATCH /api/v0/users/me`: full-update semantics, so `legal_address` must be
/// present (null = unchanged); the other keys are optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct UserUpdateInput {
    /// New full name (≤255).
    pub name: Option<String>,
    /// New email, taken without verification.
    pub email: Option<String>,
    /// New password (hashed by the caller).
    pub password: Option<String>,
    /// The legal address; required key.
    #[serde(deserialize_with = "patch")]
    pub legal_address: Patch<LegalAddressInput>,
    /// Profile changes; null or absent = unchanged.
    pub user_profile: Option<UserProfileInput>,
}

/// A validated user update: `None` = leave as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserUpdate {
    /// New full name.
    pub name: Option<String>,
    /// New email.
    pub email: Option<String>,
    /// New password, in clear (the caller hashes it).
    pub password: Option<String>,
    /// The address to store.
    pub legal_address: Option<LegalAddress>,
    /// The profile to store (with `addl_field_flag` recomputed).
    pub user_profile: Option<UserProfile>,
}

impl UserUpdateInput {
    /// Validates the body against the stored profile. Errors are keyed like the original's
    /// (`{"legal_address": {"state": ["Invalid state specified"]}}`, `{"legal_address":
    /// ["This field is required."]}`, `{"user_profile": {"year_of_birth": […]}}`).
    pub fn validate(
        &self,
        current_profile: &UserProfile,
        current_year: i32,
    ) -> Result<UserUpdate, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = optional_text(
            &mut errors,
            "name",
            self.name.as_deref(),
            USER_NAME_MAX_CHARS,
        );
        let email = match self.email.as_deref() {
            None => None,
            Some(email) => {
                required_text(&mut errors, "email", Some(email), usize::MAX).filter(|email| {
                    let valid = is_valid_email(email);
                    if !valid {
                        errors.add("email", INVALID_EMAIL);
                    }
                    valid
                })
            }
        };
        let legal_address = match &self.legal_address {
            Patch::Missing => {
                errors.add("legal_address", FieldRuleError::Required.to_string());
                None
            }
            Patch::Null => None,
            Patch::Value(input) => input
                .validate()
                .map_err(|e| errors.nest("legal_address", e))
                .ok(),
        };
        let user_profile = self.user_profile.as_ref().and_then(|input| {
            input
                .apply_to(current_profile, current_year)
                .map_err(|e| errors.nest("user_profile", e))
                .ok()
        });
        errors.into_result(UserUpdate {
            name,
            email,
            password: self.password.clone(),
            legal_address,
            user_profile,
        })
    }
}

/// What a successful `PATCH users/me` must do besides saving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserUpdateEffects {
    /// Clear the user's edX sync-error flags.
    pub clear_edx_sync_errors: bool,
    /// Queue the HubSpot contact sync (HubSpot's own B2B skip still applies).
    pub sync_hubspot_contact: bool,
    /// Queue an edX name change (only on `/users/me`, when a sent name differs).
    pub change_edx_name: bool,
    /// Queue an edX profile update (always on `/users/me`).
    pub update_edx_profile: bool,
}

/// The follow-up tasks of a user update. `via_me` is true for `/users/me` (the
/// `current_user` path only syncs HubSpot). A name change is queued only when a name was sent
/// and differs from the stored one.
pub fn user_update_effects(
    stored_name: &str,
    update: &UserUpdate,
    via_me: bool,
) -> UserUpdateEffects {
    UserUpdateEffects {
        clear_edx_sync_errors: true,
        sync_hubspot_contact: true,
        change_edx_name: via_me && update.name.as_deref().is_some_and(|n| n != stored_name),
        update_edx_profile: via_me,
    }
}

/// The body of `POST /api/profile/details/`: all four keys required.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ProfileDetailsInput {
    /// Full name, 2–254 characters.
    pub name: Option<String>,
    /// The public (edX) username.
    pub username: Option<String>,
    /// The legal address.
    pub legal_address: Option<LegalAddressInput>,
    /// The profile.
    pub user_profile: Option<UserProfileInput>,
}

/// A validated profile-details form. Username availability (local clash, edX) is checked next
/// with [`super::username::check_username_registration`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileDetails {
    /// Full name.
    pub name: String,
    /// The public username.
    pub username: PublicUsername,
    /// The address to store.
    pub legal_address: LegalAddress,
    /// The profile to store.
    pub user_profile: UserProfile,
}

impl ProfileDetailsInput {
    /// Validates the form; every problem is reported as a plain field error.
    pub fn validate(
        &self,
        current_profile: &UserProfile,
        current_year: i32,
    ) -> Result<ProfileDetails, FieldErrors> {
        let mut errors = FieldErrors::new();
        let (min, max) = PROFILE_DETAILS_NAME_CHARS;
        let name = required_text(&mut errors, "name", self.name.as_deref(), max).filter(|n| {
            let short = n.chars().count() < min;
            if short {
                errors.add("name", FieldRuleError::TooShort(min).to_string());
            }
            !short
        });
        let username = match self.username.as_deref() {
            None => {
                errors.add("username", FieldRuleError::Required.to_string());
                None
            }
            Some(text) => PublicUsername::parse(text)
                .map_err(|e| errors.add(e.field(), e.to_string()))
                .ok(),
        };
        let legal_address = match &self.legal_address {
            None => {
                errors.add("legal_address", FieldRuleError::Required.to_string());
                None
            }
            Some(input) => input
                .validate()
                .map_err(|e| errors.nest("legal_address", e))
                .ok(),
        };
        let user_profile = match &self.user_profile {
            None => {
                errors.add("user_profile", FieldRuleError::Required.to_string());
                None
            }
            Some(input) => input
                .apply_to(current_profile, current_year)
                .map_err(|e| errors.nest("user_profile", e))
                .ok(),
        };
        match (name, username, legal_address, user_profile) {
            (Some(name), Some(username), Some(legal_address), Some(user_profile))
                if errors.is_empty() =>
            {
                Ok(ProfileDetails {
                    name,
                    username,
                    legal_address,
                    user_profile,
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YEAR: i32 = 2024;

    fn address(country: &str, state: Option<&str>) -> LegalAddressInput {
        LegalAddressInput {
            first_name: Some("Test".into()),
            last_name: Some("User".into()),
            country: Some(country.into()),
            state: state.map(Into::into),
            ..LegalAddressInput::default()
        }
    }

    fn update(legal_address: Patch<LegalAddressInput>) -> UserUpdateInput {
        UserUpdateInput {
            legal_address,
            ..UserUpdateInput::default()
        }
    }

    #[test]
    fn integrations_s43_patch_users_me_address() {
        let profile = UserProfile::default();
        let errors = update(Patch::Value(address("US", Some("US-XX"))))
            .validate(&profile, YEAR)
            .unwrap_err();
        let nested = errors.nested("legal_address").unwrap();
        assert_eq!(nested.messages("state"), ["Invalid state specified"]);
        assert_eq!(errors.fields().collect::<Vec<_>>(), ["legal_address"]);

        let ok = update(Patch::Value(address("JP", Some("Tokyo"))))
            .validate(&profile, YEAR)
            .unwrap();
        let stored = ok.legal_address.unwrap();
        assert_eq!(stored.country.map(|c| c.as_str()), Some("JP"));
        assert_eq!(stored.state.as_deref(), Some("Tokyo"));

        let errors = update(Patch::Value(address("United States", None)))
            .validate(&profile, YEAR)
            .unwrap_err();
        assert_eq!(
            errors.nested("legal_address").unwrap().messages("country"),
            ["Ensure this field has no more than 2 characters."]
        );
    }

    #[test]
    fn integrations_s44_patch_without_legal_address() {
        let errors = update(Patch::Missing)
            .validate(&UserProfile::default(), YEAR)
            .unwrap_err();
        assert_eq!(
            errors.messages("legal_address"),
            ["This field is required."]
        );
        // null means "leave it as stored".
        let ok = update(Patch::Null)
            .validate(&UserProfile::default(), YEAR)
            .unwrap();
        assert_eq!(ok.legal_address, None);
    }

    #[test]
    fn integrations_s45_patch_with_young_learner() {
        let input = UserUpdateInput {
            user_profile: Some(UserProfileInput {
                year_of_birth: Some(i64::from(YEAR) - 10),
                ..UserProfileInput::default()
            }),
            ..update(Patch::Null)
        };
        let errors = input.validate(&UserProfile::default(), YEAR).unwrap_err();
        assert_eq!(
            errors
                .nested("user_profile")
                .unwrap()
                .messages("year_of_birth"),
            ["Year of Birth provided is under 13"]
        );
    }

    #[test]
    fn name_email_and_effects() {
        let input = UserUpdateInput {
            name: Some("n".repeat(256)),
            email: Some(" ".into()),
            ..update(Patch::Null)
        };
        let errors = input.validate(&UserProfile::default(), YEAR).unwrap_err();
        assert_eq!(
            errors.messages("name"),
            ["Ensure this field has no more than 255 characters."]
        );
        assert_eq!(errors.messages("email"), ["This field may not be blank."]);

        let ok = UserUpdateInput {
            name: Some("Jane Doe".into()),
            ..update(Patch::Null)
        }
        .validate(&UserProfile::default(), YEAR)
        .unwrap();
        let table: &[(&str, bool, bool, bool)] = &[
            // (stored name, via_me, change name, update profile)
            ("J. Doe", true, true, true),
            ("Jane Doe", true, false, true),
            ("J. Doe", false, false, false),
        ];
        for (stored, via_me, change, profile) in table {
            let effects = user_update_effects(stored, &ok, *via_me);
            assert_eq!(effects.change_edx_name, *change);
            assert_eq!(effects.update_edx_profile, *profile);
            assert!(effects.sync_hubspot_contact && effects.clear_edx_sync_errors);
        }
        let no_name = update(Patch::Null)
            .validate(&UserProfile::default(), YEAR)
            .unwrap();
        assert!(!user_update_effects("J. Doe", &no_name, true).change_edx_name);
    }

    #[test]
    fn email_shapes() {
        let table: &[(&str, bool)] = &[
            ("jdoe@example.com", true),
            ("j.doe+x@mail.example.org", true),
            ("jdoe@example", false),
            ("jdoe", false),
            ("@example.com", false),
            ("jdoe@@example.com", false),
            ("j doe@example.com", false),
            ("jdoe@example..com", false),
            ("jdoe@.example.com", false),
        ];
        for (text, valid) in table {
            assert_eq!(is_valid_email(text), *valid, "{text}");
        }
        let errors = UserUpdateInput {
            email: Some("not-an-email".into()),
            ..update(Patch::Null)
        }
        .validate(&UserProfile::default(), YEAR)
        .unwrap_err();
        assert_eq!(errors.messages("email"), [INVALID_EMAIL]);
    }

    #[test]
    fn integrations_s51_profile_details_required_fields() {
        let profile = UserProfile::default();
        let partial = ProfileDetailsInput {
            name: Some("Jane Doe".into()),
            user_profile: Some(UserProfileInput {
                year_of_birth: Some(1990),
                ..UserProfileInput::default()
            }),
            ..ProfileDetailsInput::default()
        };
        let errors = partial.validate(&profile, YEAR).unwrap_err();
        assert_eq!(
            errors.fields().collect::<Vec<_>>(),
            ["legal_address", "username"]
        );
        assert_eq!(errors.messages("username"), ["This field is required."]);
        assert_eq!(
            errors.messages("legal_address"),
            ["This field is required."]
        );

        let complete = ProfileDetailsInput {
            username: Some(" jdoe ".into()),
            legal_address: Some(address("US", Some("US-MA"))),
            ..partial
        };
        let details = complete.validate(&profile, YEAR).unwrap();
        assert_eq!(details.username.as_str(), "jdoe");
        assert_eq!(details.name, "Jane Doe");
        assert_eq!(details.legal_address.state.as_deref(), Some("US-MA"));
        assert_eq!(details.user_profile.year_of_birth, Some(1990));

        let table: &[(&str, &str)] = &[
            ("J", "Ensure this field has at least 2 characters."),
            ("", "This field may not be blank."),
        ];
        for (name, message) in table {
            let errors = ProfileDetailsInput {
                name: Some((*name).into()),
                ..complete.clone()
            }
            .validate(&profile, YEAR)
            .unwrap_err();
            assert_eq!(errors.messages("name"), [*message], "{name:?}");
        }
        let errors = ProfileDetailsInput {
            username: Some("j@doe".into()),
            ..complete
        }
        .validate(&profile, YEAR)
        .unwrap_err();
        assert_eq!(
            errors.messages("username"),
            [
                "Username can only contain letters, numbers, spaces, and the following characters: _+-"
            ]
        );
    }
}
