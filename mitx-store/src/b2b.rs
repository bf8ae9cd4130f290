//! B2B organizations, contracts and memberships (pricing-and-b2b spec 5.1, 5.2, 6.3).
//!
//! * The facts of the per-user SSO membership reconciliation that runs when the gateway
//!   header creates or updates a user ([`Store::gateway_org_facts`], one query), and the
//!   writes of its plan, applied inside the gateway user transaction
//!   (`apply_membership_effects`, used by `gateway_users`).
//! * The access reads of the catalog and enrollment APIs: a user's organizations
//!   (`user_organizations`) and attached contracts (`contract_learners`), a contract's
//!   organization, an organization's contracts.

use chrono::{DateTime, NaiveDate, Utc};
use mitx_core::b2b::{
    Contract, MembershipEffect, MembershipFact, MembershipType, OrgKey, Organization,
};
use mitx_core::ids::{ContractId, OrganizationId, UserId};
use uuid::Uuid;

use crate::money::DbMoney;
use crate::{Store, StoreError, backend_queries, with_db};

/// What the SSO membership reconciliation reads about one user
/// (`mitx_core::b2b::ReconcileInput` without the payload, cache and date).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GatewayOrgFacts {
    /// The user's memberships (none for a user about to be created).
    pub memberships: Vec<MembershipFact>,
    /// The organizations that can take part: those whose SSO id is in the payload and
    /// those the user is a member of, by id.
    pub organizations: Vec<Organization>,
    /// Every contract of those organizations, by id.
    pub contracts: Vec<Contract>,
}

/// An organization a user is a member of, with the active contracts of it the user is
/// attached to (`users/me` `b2b_organizations`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberOrganization {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Logo URL, if any.
    pub logo: Option<String>,
    /// Slug.
    pub slug: String,
    /// Keycloak organization id, as stored.
    pub sso_organization_id: Option<String>,
    /// The user's active contracts of this organization, by id.
    pub contracts: Vec<MemberContract>,
}

/// A contract as `users/me` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberContract {
    /// Id.
    pub id: i64,
    /// Owning organization.
    pub organization: i64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// `managed`, `code` or `auto`.
    pub membership_type: String,
    /// First day.
    pub contract_start: Option<NaiveDate>,
    /// Last day.
    pub contract_end: Option<NaiveDate>,
    /// Slug.
    pub slug: String,
    /// Welcome message.
    pub welcome_message: String,
    /// Extra welcome text.
    pub welcome_message_extra: String,
    /// Program ids, in the contract's order.
    pub programs: Vec<i64>,
    /// Supported variant sets.
    pub variant_options: Vec<ContractVariant>,
}

/// A supported variant set of a contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractVariant {
    /// Language code ("" = any).
    pub language: String,
    /// `""` or `S`.
    pub variant_length: String,
    /// `""`, `E`, `F` or `HC`.
    pub variant_industry: String,
    /// The default set.
    pub is_default: bool,
}

/// The columns of [`GatewayOrgFacts`]'s single query.
const ORG_FACT_COLUMNS: &str = "o.id AS o_id, o.name AS o_name, o.org_key, o.org_key_prefix, \
    o.description AS o_description, o.logo, o.sso_organization_id, o.slug AS o_slug, \
    uo.id AS m_id, uo.keep_until_seen, \
    k.id AS k_id, k.name AS k_name, k.slug AS k_slug, k.membership_type, k.contract_start, \
    k.contract_end, k.active AS k_active, k.max_learners, k.enrollment_fixed_price, \
    k.description AS k_description, k.welcome_message, k.welcome_message_extra, \
    k.google_sheet_target, k.google_sheet_target_tab";

fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

backend_queries! {
    use sqlx::Row;

    fn organization_from_row(row: &<Db as sqlx::Database>::Row) -> Result<Organization, StoreError> {
        let org_key: String = row.try_get("org_key")?;
        let sso: Option<String> = row.try_get("sso_organization_id")?;
        let sso_organization_id = sso
            .map(|text| Uuid::parse_str(text.trim()))
            .transpose()
            .map_err(|e| StoreError::corrupt("organizations", "sso_organization_id", e))?;
        Ok(Organization {
            id: OrganizationId(row.try_get("o_id")?),
            name: row.try_get("o_name")?,
            org_key: OrgKey::parse(&org_key)
                .map_err(|e| StoreError::corrupt("organizations", "org_key", e))?,
            org_key_prefix: row.try_get("org_key_prefix")?,
            description: row.try_get("o_description")?,
            logo: row.try_get("logo")?,
            sso_organization_id,
            slug: row.try_get("o_slug")?,
        })
    }

    /// The contract of a row whose `k_id` is not null.
    fn contract_from_row(
        row: &<Db as sqlx::Database>::Row,
        id: i64,
        organization: i64,
    ) -> Result<Contract, StoreError> {
        let kind: String = row.try_get("membership_type")?;
        let max_learners: Option<i64> = row.try_get("max_learners")?;
        Ok(Contract {
            id: ContractId(id),
            organization: OrganizationId(organization),
            name: row.try_get("k_name")?,
            slug: row.try_get("k_slug")?,
            membership_type: MembershipType::parse(&kind)
                .ok_or_else(|| StoreError::corrupt("contracts", "membership_type", &kind))?,
            contract_start: row.try_get::<Option<NaiveDate>, _>("contract_start")?,
            contract_end: row.try_get::<Option<NaiveDate>, _>("contract_end")?,
            active: row.try_get("k_active")?,
            max_learners: max_learners.map(|n| u32::try_from(n.max(0)).unwrap_or(u32::MAX)),
            enrollment_fixed_price: row
                .try_get::<Option<DbMoney>, _>("enrollment_fixed_price")?
                .map(|m| m.0),
            description: row.try_get("k_description")?,
            welcome_message: row.try_get("welcome_message")?,
            welcome_message_extra: row.try_get("welcome_message_extra")?,
            google_sheet_target: row.try_get("google_sheet_target")?,
            google_sheet_target_tab: row.try_get("google_sheet_target_tab")?,
        })
    }

    pub(crate) async fn gateway_org_facts(
        conn: &mut Conn,
        user: Option<i64>,
        payload: &[Uuid],
    ) -> Result<GatewayOrgFacts, StoreError> {
        if user.is_none() && payload.is_empty() {
            return Ok(GatewayOrgFacts::default());
        }
        // SSO ids are stored as text; compare them lower-cased (Uuid displays lower case).
        let mut filter = String::from("uo.id IS NOT NULL");
        if !payload.is_empty() {
            filter.push_str(&format!(
                " OR lower(o.sso_organization_id) IN ({})",
                placeholders(2, payload.len())
            ));
        }
        let sql = format!(
            "SELECT {ORG_FACT_COLUMNS} FROM organizations o \
             LEFT JOIN user_organizations uo ON uo.organization_id = o.id AND uo.user_id = $1 \
             LEFT JOIN contracts k ON k.organization_id = o.id \
             WHERE {filter} ORDER BY o.id, k.id"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user);
        for id in payload {
            query = query.bind(id.to_string());
        }
        let mut facts = GatewayOrgFacts::default();
        for row in query.fetch_all(&mut *conn).await? {
            let org_id: i64 = row.try_get("o_id")?;
            if facts.organizations.last().is_none_or(|o| o.id.0 != org_id) {
                facts.organizations.push(organization_from_row(&row)?);
                if row.try_get::<Option<i64>, _>("m_id")?.is_some() {
                    facts.memberships.push(MembershipFact {
                        organization: OrganizationId(org_id),
                        keep_until_seen: row.try_get("keep_until_seen")?,
                    });
                }
            }
            if let Some(contract) = row.try_get::<Option<i64>, _>("k_id")? {
                facts.contracts.push(contract_from_row(&row, contract, org_id)?);
            }
        }
        Ok(facts)
    }

    /// Applies reconciliation effects for `user` (idempotent: inserts ignore existing rows).
    /// Keycloak registration is not a database write and is skipped here.
    pub(crate) async fn apply_membership_effects(
        conn: &mut Conn,
        user: i64,
        effects: &[MembershipEffect],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for effect in effects {
            match effect {
                MembershipEffect::CreateMembership { organization, keep_until_seen } => {
                    sqlx::query(
                        "INSERT INTO user_organizations (user_id, organization_id, keep_until_seen, \
                         is_manager, created_on, updated_on) VALUES ($1, $2, $3, FALSE, $4, $4) \
                         ON CONFLICT (user_id, organization_id) DO NOTHING",
                    )
                    .bind(user)
                    .bind(organization.0)
                    .bind(*keep_until_seen)
                    .bind(now)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::classify)?;
                }
                MembershipEffect::AttachToContract { contract } => {
                    sqlx::query(
                        "INSERT INTO contract_learners (contract_id, user_id, created_on) \
                         VALUES ($1, $2, $3) ON CONFLICT (contract_id, user_id) DO NOTHING",
                    )
                    .bind(contract.0)
                    .bind(user)
                    .bind(now)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::classify)?;
                }
                MembershipEffect::DetachFromContract { contract } => {
                    sqlx::query("DELETE FROM contract_learners WHERE contract_id = $1 AND user_id = $2")
                        .bind(contract.0)
                        .bind(user)
                        .execute(&mut *conn)
                        .await
                        .map_err(StoreError::classify)?;
                }
                MembershipEffect::DeleteMembership { organization } => {
                    sqlx::query(
                        "DELETE FROM user_organizations WHERE user_id = $1 AND organization_id = $2",
                    )
                    .bind(user)
                    .bind(organization.0)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::classify)?;
                }
                MembershipEffect::ClearKeepUntilSeen { organization } => {
                    sqlx::query(
                        "UPDATE user_organizations SET keep_until_seen = FALSE, updated_on = $3 \
                         WHERE user_id = $1 AND organization_id = $2 AND keep_until_seen",
                    )
                    .bind(user)
                    .bind(organization.0)
                    .bind(now)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::classify)?;
                }
                MembershipEffect::RegisterInKeycloak { .. } => {}
            }
        }
        Ok(())
    }

    pub(crate) async fn member_organizations(
        conn: &mut Conn,
        user: i64,
    ) -> Result<Vec<MemberOrganization>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.id, o.name, o.description, o.logo, o.slug, o.sso_organization_id \
             FROM user_organizations uo JOIN organizations o ON o.id = uo.organization_id \
             WHERE uo.user_id = $1 ORDER BY o.id",
        )
        .bind(user)
        .fetch_all(&mut *conn)
        .await?;
        let mut orgs = Vec::with_capacity(rows.len());
        for row in rows {
            orgs.push(MemberOrganization {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                description: row.try_get("description")?,
                logo: row.try_get("logo")?,
                slug: row.try_get("slug")?,
                sso_organization_id: row.try_get("sso_organization_id")?,
                contracts: Vec::new(),
            });
        }
        let rows = sqlx::query(
            "SELECT k.id, k.organization_id, k.name, k.description, k.membership_type, \
             k.contract_start, k.contract_end, k.slug, k.welcome_message, k.welcome_message_extra \
             FROM contract_learners cl JOIN contracts k ON k.id = cl.contract_id \
             WHERE cl.user_id = $1 AND k.active ORDER BY k.id",
        )
        .bind(user)
        .fetch_all(&mut *conn)
        .await?;
        let mut contracts = Vec::with_capacity(rows.len());
        for row in rows {
            contracts.push(MemberContract {
                id: row.try_get("id")?,
                organization: row.try_get("organization_id")?,
                name: row.try_get("name")?,
                description: row.try_get("description")?,
                membership_type: row.try_get("membership_type")?,
                contract_start: row.try_get::<Option<NaiveDate>, _>("contract_start")?,
                contract_end: row.try_get::<Option<NaiveDate>, _>("contract_end")?,
                slug: row.try_get("slug")?,
                welcome_message: row.try_get("welcome_message")?,
                welcome_message_extra: row.try_get("welcome_message_extra")?,
                programs: Vec::new(),
                variant_options: Vec::new(),
            });
        }
        let programs: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT cp.contract_id, cp.program_id FROM contract_programs cp \
             JOIN contract_learners cl ON cl.contract_id = cp.contract_id \
             WHERE cl.user_id = $1 ORDER BY cp.contract_id, cp.sort_order, cp.id",
        )
        .bind(user)
        .fetch_all(&mut *conn)
        .await?;
        let variants = sqlx::query(
            "SELECT v.contract_id, v.language, v.variant_length, v.variant_industry, v.is_default \
             FROM contract_variant_options v \
             JOIN contract_learners cl ON cl.contract_id = v.contract_id \
             WHERE cl.user_id = $1 ORDER BY v.contract_id, v.id",
        )
        .bind(user)
        .fetch_all(&mut *conn)
        .await?;
        for contract in &mut contracts {
            contract.programs = programs
                .iter()
                .filter(|(k, _)| *k == contract.id)
                .map(|(_, p)| *p)
                .collect();
            for row in variants.iter() {
                if row.try_get::<i64, _>("contract_id")? == contract.id {
                    contract.variant_options.push(ContractVariant {
                        language: row.try_get("language")?,
                        variant_length: row.try_get("variant_length")?,
                        variant_industry: row.try_get("variant_industry")?,
                        is_default: row.try_get("is_default")?,
                    });
                }
            }
        }
        for contract in contracts {
            if let Some(org) = orgs.iter_mut().find(|o| o.id == contract.organization) {
                org.contracts.push(contract);
            }
        }
        Ok(orgs)
    }

    pub(crate) async fn user_org_ids(conn: &mut Conn, user: i64) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT organization_id FROM user_organizations WHERE user_id = $1 ORDER BY organization_id",
        )
        .bind(user)
        .fetch_all(&mut *conn)
        .await?)
    }

    pub(crate) async fn user_contract_ids(conn: &mut Conn, user: i64) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT contract_id FROM contract_learners WHERE user_id = $1 ORDER BY contract_id",
        )
        .bind(user)
        .fetch_all(&mut *conn)
        .await?)
    }

    pub(crate) async fn organization_contract_ids(
        conn: &mut Conn,
        organization: i64,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM contracts WHERE organization_id = $1 ORDER BY id")
            .bind(organization)
            .fetch_all(&mut *conn)
            .await?)
    }
}

/// The membership writes on either backend's connection, so that another module's
/// transaction (the gateway login) can apply them.
pub(crate) trait MembershipWrites {
    /// See `apply_membership_effects` in the query modules.
    async fn apply_membership_effects(
        &mut self,
        user: i64,
        effects: &[MembershipEffect],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

impl MembershipWrites for sqlx::SqliteConnection {
    async fn apply_membership_effects(
        &mut self,
        user: i64,
        effects: &[MembershipEffect],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlite::apply_membership_effects(self, user, effects, now).await
    }
}

impl MembershipWrites for sqlx::PgConnection {
    async fn apply_membership_effects(
        &mut self,
        user: i64,
        effects: &[MembershipEffect],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        postgres::apply_membership_effects(self, user, effects, now).await
    }
}

impl Store {
    /// What the SSO membership reconciliation of `user` (`None`: a user about to be
    /// created) reads for the organization ids of the gateway claims, in one query: the
    /// user's memberships, the organizations of the payload and of those memberships, and
    /// all their contracts. Payload ids without a local organization are ignored.
    pub async fn gateway_org_facts(
        &self,
        user: Option<UserId>,
        payload: &[Uuid],
    ) -> Result<GatewayOrgFacts, StoreError> {
        with_db!(conn: self, conn, q => q::gateway_org_facts(conn, user.map(|u| u.0), payload).await)
    }

    /// The organizations `user` is a member of, by id, each with the contracts of it the user
    /// is attached to whose `active` flag is set (with their programs and variant sets).
    pub async fn member_organizations(
        &self,
        user: UserId,
    ) -> Result<Vec<MemberOrganization>, StoreError> {
        with_db!(conn: self, conn, q => q::member_organizations(conn, user.0).await)
    }

    /// The organizations `user` is a member of (`user_organizations`), by id.
    pub async fn user_org_ids(&self, user: UserId) -> Result<Vec<i64>, StoreError> {
        with_db!(conn: self, conn, q => q::user_org_ids(conn, user.0).await)
    }

    /// The contracts `user` is attached to (`contract_learners`), by id.
    pub async fn user_contract_ids(&self, user: UserId) -> Result<Vec<i64>, StoreError> {
        with_db!(conn: self, conn, q => q::user_contract_ids(conn, user.0).await)
    }

    /// Every contract of `organization` (any state), by id.
    pub async fn organization_contract_ids(
        &self,
        organization: i64,
    ) -> Result<Vec<i64>, StoreError> {
        with_db!(conn: self, conn, q => q::organization_contract_ids(conn, organization).await)
    }
}

impl crate::Tx {
    /// Applies membership effects (`mitx_core::b2b::MembershipEffect`) for `user` in the
    /// unit of work.
    pub async fn apply_membership_effects(
        &mut self,
        user: UserId,
        effects: &[MembershipEffect],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if effects.is_empty() {
            return Ok(());
        }
        with_db!(tx: self, conn, q => q::apply_membership_effects(conn, user.0, effects, now).await)
    }
}
