//! The gateway login (integrations spec 3.2–3.3): the user the `X-Userinfo` claims name,
//! created or updated with the claims, with the SSO organization memberships reconciled in
//! the same unit of work. Claims that change nothing write nothing.
//!
//! The server decodes the header; the decisions are `mitx_core::users::gateway` and
//! `mitx_core::b2b::reconcile_user_orgs`.

use mitx_core::ids::UserId;
use mitx_core::users::gateway::{
    AnonymousReason, GatewayClaims, GatewayDecision, GatewayHeader, GatewayLookup, GatewaySettings,
    GatewayStep, decide_gateway_user, gateway_step,
};
use mitx_store::StoreError;
use mitx_store::users::{User, UserKey};

use crate::Services;
use crate::error::{Fault, store_fault};

/// How many times the claims are looked up and applied: later attempts cover a concurrent
/// request creating the same subject first.
const ATTEMPTS: usize = 3;

/// Why the header could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GatewayUserError {
    /// The header is not base64 of a JSON object of claims.
    #[error("Invalid X-Userinfo header: expected base64-encoded JSON claims.")]
    BadHeader,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl GatewayUserError {
    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        match self {
            GatewayUserError::BadHeader => Fault::Caller,
            GatewayUserError::Store(err) => store_fault(err),
        }
    }
}

/// The gateway settings of these services.
pub fn settings(services: &Services) -> GatewaySettings {
    GatewaySettings {
        disabled: services.settings().server.gateway_disabled,
        ..GatewaySettings::default()
    }
}

/// The signed-in user of a request's header: `None` when anonymous (no header, no `sub`,
/// the gateway off, or claims that cannot be applied).
pub async fn resolve(
    services: &Services,
    header: &GatewayHeader,
) -> Result<Option<User>, GatewayUserError> {
    let settings = settings(services);
    let subject = match gateway_step(&settings, header) {
        GatewayStep::Ignore | GatewayStep::Anonymous(_) => return Ok(None),
        GatewayStep::BadRequest => return Err(GatewayUserError::BadHeader),
        GatewayStep::LookUp(subject) => subject,
    };
    let GatewayHeader::Decoded(claims) = header else {
        return Ok(None);
    };
    for attempt in 1..=ATTEMPTS {
        match apply_claims(services, &settings, claims, &subject).await {
            Ok(Attempt::User(id)) => return Ok(load_user(services, id).await?),
            Ok(Attempt::Anonymous) => return Ok(None),
            Ok(Attempt::Taken) if attempt < ATTEMPTS => {}
            Ok(Attempt::Taken) => return Ok(None),
            Err(StoreError::Conflict(cause)) => {
                tracing::info!(%cause, attempt, "gateway claims not applied");
            }
            Err(other) => return Err(other.into()),
        }
    }
    Ok(None)
}

/// The result of one attempt.
enum Attempt {
    User(UserId),
    Anonymous,
    /// Anonymous because another account holds the username or email: final unless a
    /// concurrent creation of this very subject explains it.
    Taken,
}

async fn apply_claims(
    services: &Services,
    settings: &GatewaySettings,
    claims: &GatewayClaims,
    subject: &str,
) -> Result<Attempt, StoreError> {
    let facts = services
        .store()
        .gateway_facts(
            subject,
            claims.preferred_username.as_deref(),
            claims.email.as_deref(),
        )
        .await?;
    let lookup = GatewayLookup {
        existing: facts.existing.as_ref(),
        username_owner: facts.username_owner,
        email_owner: facts.email_owner,
    };
    let now = services.now();
    match decide_gateway_user(settings, claims, &lookup) {
        GatewayDecision::Create(new) => {
            let memberships = org_reconciliation(services, None, claims, now).await?;
            let mut tx = services.db().begin().await?;
            let id = tx.create_gateway_user(&new, &memberships, now).await?;
            tx.commit().await?;
            Ok(Attempt::User(id))
        }
        GatewayDecision::Update {
            user_id,
            changes,
            authenticate,
        } => {
            let memberships = org_reconciliation(services, Some(user_id), claims, now).await?;
            // A request that changes nothing writes nothing (this replaces the original's
            // Redis cache of reconciled memberships).
            if !changes.is_empty() || !memberships.is_empty() || !facts.rows_present {
                let mut tx = services.db().begin().await?;
                tx.update_gateway_user(user_id, &changes, &memberships, now)
                    .await?;
                tx.commit().await?;
            }
            Ok(if authenticate {
                Attempt::User(user_id)
            } else {
                Attempt::Anonymous
            })
        }
        GatewayDecision::Authenticate(user_id) => Ok(Attempt::User(user_id)),
        GatewayDecision::Anonymous(
            reason @ (AnonymousReason::UsernameTaken | AnonymousReason::EmailTaken),
        ) if facts.existing.is_none() => {
            tracing::debug!(?reason, "gateway claims collide with another account");
            Ok(Attempt::Taken)
        }
        GatewayDecision::Anonymous(reason) => {
            tracing::debug!(?reason, "gateway request stays anonymous");
            Ok(Attempt::Anonymous)
        }
    }
}

/// The SSO organization reconciliation of the claims (integrations spec 3.3 "Orgs",
/// pricing-and-b2b spec 6.3): one read, then `mitx_core::b2b::reconcile_user_orgs`.
async fn org_reconciliation(
    services: &Services,
    user: Option<UserId>,
    claims: &GatewayClaims,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<mitx_core::b2b::MembershipEffect>, StoreError> {
    let payload = claims.organization_ids();
    let facts = services.store().gateway_org_facts(user, &payload).await?;
    if facts.organizations.is_empty() {
        return Ok(Vec::new());
    }
    let plan = mitx_core::b2b::reconcile_user_orgs(&mitx_core::b2b::ReconcileInput {
        payload: &payload,
        cache: None,
        memberships: &facts.memberships,
        organizations: &facts.organizations,
        contracts: &facts.contracts,
        today: now.date_naive(),
    });
    if !plan.effects.is_empty() {
        let (added, removed) = plan.counts();
        tracing::info!(
            ?user,
            added,
            removed,
            "gateway organization memberships reconciled"
        );
    }
    Ok(plan.effects)
}

async fn load_user(services: &Services, id: UserId) -> Result<Option<User>, StoreError> {
    let user = services.store().find_user(&UserKey::Id(id.0)).await?;
    Ok(user.filter(|u| u.id == id && u.is_active))
}
