//! Creating accounts (`mitx users create`).

use mitx_store::StoreError;
use mitx_store::users::{NewUser, UserDetail};

use crate::Services;

/// Creates a user with a legal address and an empty profile. A username or email already
/// in use is a [`StoreError::Conflict`].
pub async fn create(services: &Services, new: &NewUser) -> Result<UserDetail, StoreError> {
    let mut tx = services.db().begin().await?;
    let detail = tx.create_user(new, services.now()).await?;
    tx.commit().await?;
    Ok(detail)
}
