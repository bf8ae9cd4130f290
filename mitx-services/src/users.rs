//! Creating accounts (`mitx users create`) and the learner's own update (`PATCH
//! /api/v0/users/me`).

use chrono::Datelike;
use mitx_core::ids::UserId;
use mitx_core::users::field_errors::FieldErrors;
use mitx_core::users::profile::{
    CompanySize, Gender, HighestEducation, UserProfile as CoreProfile, YearsExperience,
};
use mitx_core::users::user_update::UserUpdateInput;
use mitx_store::StoreError;
use mitx_store::users::{EMAIL_IN_USE, NewUser, UserDetail, UserKey, UserProfile};

use crate::Services;
use crate::error::{Fault, store_fault};

/// Creates a user with a legal address and an empty profile. A username or email already
/// in use is a [`StoreError::Conflict`].
pub async fn create(services: &Services, new: &NewUser) -> Result<UserDetail, StoreError> {
    let mut tx = services.db().begin().await?;
    let detail = tx.create_user(new, services.now()).await?;
    tx.commit().await?;
    Ok(detail)
}

/// Why `PATCH users/me` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum UserUpdateError {
    /// The body broke field rules; the map is the `{"errors": …}` body.
    #[error("the user update was refused")]
    Invalid(FieldErrors),
    /// The database failed, or the user changed meanwhile ([`StoreError::Stale`]).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UserUpdateError {
    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        match self {
            UserUpdateError::Invalid(_) => Fault::Caller,
            UserUpdateError::Store(err) => store_fault(err),
        }
    }
}

/// The message for a password in `PATCH users/me`: passwords live in the identity provider.
pub const PASSWORD_NOT_WRITABLE: &str =
    "Passwords are managed by the sign-in provider and cannot be changed here.";

/// The stored profile as the core rules see it (unknown stored codes read as unset).
pub fn core_profile(stored: Option<&UserProfile>) -> CoreProfile {
    let Some(p) = stored else {
        return CoreProfile::default();
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    CoreProfile {
        gender: p.gender.as_deref().and_then(Gender::from_code),
        year_of_birth: p.year_of_birth,
        company: text(&p.company),
        job_title: text(&p.job_title),
        industry: text(&p.industry),
        job_function: text(&p.job_function),
        leadership_level: text(&p.leadership_level),
        company_size: p.company_size.and_then(|v| CompanySize::try_from(v).ok()),
        years_experience: p
            .years_experience
            .and_then(|v| YearsExperience::try_from(v).ok()),
        highest_education: p
            .highest_education
            .as_deref()
            .and_then(HighestEducation::from_label),
        type_is_student: p.type_is_student,
        type_is_professional: p.type_is_professional,
        type_is_educator: p.type_is_educator,
        type_is_other: p.type_is_other,
        addl_field_flag: p.addl_field_flag,
        completed_onboarding: false,
    }
}

/// `PATCH /api/v0/users/me` (and `users/current_user/`), integrations spec 4.5: validates the
/// body against the user as read (full-update semantics: `legal_address` required, null =
/// unchanged; `user_profile` optional and merged into the stored profile with
/// `addl_field_flag` recomputed; `name` and `email` writable, the email without
/// verification), then writes it in one unit of work that checks the name, email and
/// profile it read are still stored (else [`StoreError::Stale`], nothing written) and clears
/// the user's Open edX sync-error flags. An email used by another account is a field error.
/// A `password` is refused ([`PASSWORD_NOT_WRITABLE`]): mitx keeps no passwords.
///
/// Not done here (no such jobs exist yet): the HubSpot contact sync and the Open edX name and
/// profile updates the original queues.
pub async fn update_me(
    services: &Services,
    user: UserId,
    input: &UserUpdateInput,
) -> Result<UserDetail, UserUpdateError> {
    let key = UserKey::Id(user.0);
    let read = services.store().user_detail(&key).await?;
    let now = services.now();
    let stored_profile = core_profile(read.user_profile.as_ref());
    let mut update = input.validate(&stored_profile, now.year());
    if input.password.is_some() {
        let mut errors = update.err().unwrap_or_default();
        errors.add("password", PASSWORD_NOT_WRITABLE);
        update = Err(errors);
    }
    let update = update.map_err(UserUpdateError::Invalid)?;
    let mut tx = services.db().begin().await?;
    match tx.update_user(&read, &update, now).await {
        Ok(()) => tx.commit().await?,
        Err(StoreError::Conflict(message)) if message == EMAIL_IN_USE => {
            tx.rollback().await?;
            let mut errors = FieldErrors::new();
            errors.add("email", EMAIL_IN_USE);
            return Err(UserUpdateError::Invalid(errors));
        }
        Err(err) => {
            tx.rollback().await?;
            return Err(err.into());
        }
    }
    Ok(services.store().user_detail(&key).await?)
}
