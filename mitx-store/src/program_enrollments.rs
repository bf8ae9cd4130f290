//! Program enrollments of the learner API (courses spec 1.9, 2.4, 5.3, 5.5): the program a
//! request names, the learner's rows, fulfilled paid-program checks, and saving the plans
//! `mitx_core::enrollment::plan_program_*` decide.
//!
//! Creation is race-safe: the row is inserted with `ON CONFLICT (user_id, program_id) DO
//! NOTHING`, and a conflict is reported to the caller ([`SavedProgramEnrollment::Raced`]),
//! who reads the winner's row and plans again. Every change writes a
//! `program_enrollment_audits` row in the same transaction.

use chrono::{DateTime, Utc};
use mitx_core::catalog::{
    Availability, EnrollmentMode, Operator, Program, ReadableId, RequirementKind, RequirementNode,
};
use mitx_core::enrollment::{ChangeStatus, ProgramEnrollment};
use mitx_core::ids::{CourseId, ProgramId, RequirementNodeId, UserId};

use crate::{Store, StoreError, Tx, backend_queries, with_db};

/// A stored program enrollment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramEnrollmentRecord {
    /// Row id.
    pub id: i64,
    /// The enrollment as the rules see it.
    pub enrollment: ProgramEnrollment,
    /// Created.
    pub created_on: DateTime<Utc>,
    /// Last changed.
    pub updated_on: DateTime<Utc>,
}

/// An enrollment with its program, for listings.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgramEnrollmentWithProgram {
    /// The row.
    pub record: ProgramEnrollmentRecord,
    /// Its program (departments and the requirements tree are not loaded).
    pub program: Program,
}

/// What [`Store::save_program_enrollment`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SavedProgramEnrollment {
    /// The row as saved.
    Saved(ProgramEnrollmentRecord),
    /// The plan was to create a row, but another request created it first: read the row
    /// again and plan again.
    Raced,
}

fn mode_of(text: &str) -> Result<EnrollmentMode, StoreError> {
    EnrollmentMode::parse(text)
        .ok_or_else(|| StoreError::corrupt("program_enrollments", "enrollment_mode", text))
}

fn change_of(text: Option<String>) -> Result<Option<ChangeStatus>, StoreError> {
    text.map(|t| {
        ChangeStatus::parse(&t)
            .ok_or_else(|| StoreError::corrupt("program_enrollments", "change_status", &t))
    })
    .transpose()
}

fn audit_json(row: &ProgramEnrollment) -> Result<String, StoreError> {
    serde_json::to_string(row).map_err(|e| StoreError::corrupt("program_enrollments", "audit", e))
}

/// One `program_requirements` row.
struct FlatNode {
    id: i64,
    program: i64,
    parent: Option<i64>,
    node_type: String,
    operator: Option<String>,
    operator_value: Option<String>,
    course: Option<i64>,
    required_program: Option<i64>,
    title: String,
    elective: bool,
}

/// The core tree under `node` (rows are in sibling order already).
fn build_tree(node: &FlatNode, all: &[&FlatNode]) -> Result<RequirementNode, StoreError> {
    let corrupt = |what: &str| StoreError::corrupt("program_requirements", "node_type", what);
    let kind = match node.node_type.as_str() {
        "program_root" => RequirementKind::ProgramRoot,
        "operator" => RequirementKind::Operator {
            operator: Operator::parse(
                node.operator.as_deref().unwrap_or_default(),
                node.operator_value.as_deref(),
            )
            .map_err(|e| StoreError::corrupt("program_requirements", "operator", e))?,
        },
        "course" => RequirementKind::Course {
            course: CourseId(
                node.course
                    .ok_or_else(|| corrupt("course without course_id"))?,
            ),
        },
        "program" => RequirementKind::Program {
            required_program: ProgramId(
                node.required_program
                    .ok_or_else(|| corrupt("program without required_program_id"))?,
            ),
        },
        other => return Err(corrupt(other)),
    };
    let children = all
        .iter()
        .filter(|n| n.parent == Some(node.id))
        .map(|child| build_tree(child, all))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RequirementNode {
        id: Some(RequirementNodeId(node.id)),
        kind,
        title: node.title.clone(),
        elective_flag: node.elective,
        children,
    })
}

backend_queries! {
    use sqlx::Row;

    const PROGRAM_COLUMNS: &str = "p.id AS p_id, p.title AS p_title, p.readable_id AS p_readable_id, \
        p.live AS p_live, p.program_type, p.availability, p.offers_audit, p.offers_verified, \
        p.display_mode, p.b2b_only";

    const ENROLLMENT_COLUMNS: &str = "e.id AS e_id, e.user_id, e.program_id, e.active, \
        e.change_status, e.enrollment_mode, e.created_on AS e_created_on, \
        e.updated_on AS e_updated_on";

    fn program_from_row(row: &<Db as sqlx::Database>::Row) -> Result<Program, StoreError> {
        let readable: String = row.try_get("p_readable_id")?;
        let mut modes = Vec::new();
        if row.try_get::<bool, _>("offers_audit")? {
            modes.push(EnrollmentMode::Audit);
        }
        if row.try_get::<bool, _>("offers_verified")? {
            modes.push(EnrollmentMode::Verified);
        }
        let availability = match row.try_get::<String, _>("availability")?.as_str() {
            "dated" => Availability::Dated,
            _ => Availability::Anytime,
        };
        Ok(Program {
            id: ProgramId(row.try_get("p_id")?),
            title: row.try_get("p_title")?,
            readable_id: ReadableId::parse(&readable)
                .map_err(|e| StoreError::corrupt("programs", "readable_id", e))?,
            live: row.try_get("p_live")?,
            program_type: row.try_get("program_type")?,
            departments: Vec::new(),
            availability,
            enrollment_modes: modes,
            display_mode: row.try_get("display_mode")?,
            b2b_only: row.try_get("b2b_only")?,
            requirements: RequirementNode::root(),
        })
    }

    fn enrollment_from_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<ProgramEnrollmentRecord, StoreError> {
        Ok(ProgramEnrollmentRecord {
            id: row.try_get("e_id")?,
            enrollment: ProgramEnrollment {
                user: UserId(row.try_get("user_id")?),
                program: ProgramId(row.try_get("program_id")?),
                active: row.try_get("active")?,
                change_status: change_of(row.try_get("change_status")?)?,
                mode: mode_of(&row.try_get::<String, _>("enrollment_mode")?)?,
            },
            created_on: row.try_get("e_created_on")?,
            updated_on: row.try_get("e_updated_on")?,
        })
    }

    pub(crate) async fn program(conn: &mut Conn, id: i64) -> Result<Option<Program>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {PROGRAM_COLUMNS} FROM programs p WHERE p.id = $1"
        ));
        let row = sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await?;
        row.as_ref().map(program_from_row).transpose()
    }

    pub(crate) async fn by_user_program(
        conn: &mut Conn,
        user: i64,
        program: i64,
    ) -> Result<Option<ProgramEnrollmentRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ENROLLMENT_COLUMNS} FROM program_enrollments e \
             WHERE e.user_id = $1 AND e.program_id = $2"
        ));
        let row = sqlx::query(sql).bind(user).bind(program).fetch_optional(&mut *conn).await?;
        row.as_ref().map(enrollment_from_row).transpose()
    }

    pub(crate) async fn by_id(
        conn: &mut Conn,
        id: i64,
    ) -> Result<Option<ProgramEnrollmentRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ENROLLMENT_COLUMNS} FROM program_enrollments e WHERE e.id = $1"
        ));
        let row = sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await?;
        row.as_ref().map(enrollment_from_row).transpose()
    }

    pub(crate) async fn active_for_user(
        conn: &mut Conn,
        user: i64,
    ) -> Result<Vec<ProgramEnrollmentWithProgram>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ENROLLMENT_COLUMNS}, {PROGRAM_COLUMNS} FROM program_enrollments e \
             JOIN programs p ON p.id = e.program_id \
             WHERE e.user_id = $1 AND e.active \
             AND (e.change_status IS NULL OR e.change_status <> 'unenrolled') \
             ORDER BY e.created_on DESC, e.id DESC"
        ));
        let rows = sqlx::query(sql).bind(user).fetch_all(&mut *conn).await?;
        rows.iter()
            .map(|row| {
                Ok(ProgramEnrollmentWithProgram {
                    record: enrollment_from_row(row)?,
                    program: program_from_row(row)?,
                })
            })
            .collect()
    }

    pub(crate) async fn has_fulfilled_paid(
        conn: &mut Conn,
        user: i64,
        program: i64,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM paid_programs pp JOIN orders o ON o.id = pp.order_id \
             WHERE pp.user_id = $1 AND pp.program_id = $2 AND o.state = 'fulfilled'",
        )
        .bind(user)
        .bind(program)
        .fetch_one(&mut *conn)
        .await?;
        let n: i64 = row.try_get("n")?;
        Ok(n > 0)
    }

    /// Inserts unless the (user, program) row exists; the new id, or `None` on conflict.
    pub(crate) async fn insert_if_absent(
        conn: &mut Conn,
        row: &ProgramEnrollment,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO program_enrollments (user_id, program_id, active, change_status, \
             enrollment_mode, created_on, updated_on) VALUES ($1, $2, $3, $4, $5, $6, $6) \
             ON CONFLICT (user_id, program_id) DO NOTHING RETURNING id",
        )
        .bind(row.user.0)
        .bind(row.program.0)
        .bind(row.active)
        .bind(row.change_status.map(ChangeStatus::as_str))
        .bind(row.mode.slug())
        .bind(now)
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        inserted.map(|r| r.try_get("id")).transpose().map_err(StoreError::from)
    }

    /// Compare-and-set on the state that was read; whether the row was updated.
    pub(crate) async fn update_if_unchanged(
        conn: &mut Conn,
        id: i64,
        before: &ProgramEnrollment,
        row: &ProgramEnrollment,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE program_enrollments SET active = $2, change_status = $3, \
             enrollment_mode = $4, updated_on = $5 WHERE id = $1 AND active = $6 \
             AND change_status IS NOT DISTINCT FROM $7 AND enrollment_mode = $8",
        )
        .bind(id)
        .bind(row.active)
        .bind(row.change_status.map(ChangeStatus::as_str))
        .bind(row.mode.slug())
        .bind(now)
        .bind(before.active)
        .bind(before.change_status.map(ChangeStatus::as_str))
        .bind(before.mode.slug())
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn audit(
        conn: &mut Conn,
        enrollment: i64,
        acting_user: Option<i64>,
        before: Option<&str>,
        after: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO program_enrollment_audits (enrollment_id, acting_user_id, \
             data_before, data_after, created_on, updated_on) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(enrollment)
        .bind(acting_user)
        .bind(before)
        .bind(after)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    /// Active audit program enrollments with a larger id than `after`, by id.
    pub(crate) async fn audit_enrollments(
        conn: &mut Conn,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ProgramEnrollmentRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ENROLLMENT_COLUMNS} FROM program_enrollments e \
             WHERE e.active AND e.enrollment_mode = 'audit' AND e.id > $1 ORDER BY e.id LIMIT $2"
        ));
        let rows = sqlx::query(sql).bind(after).bind(limit.max(1)).fetch_all(&mut *conn).await?;
        rows.iter().map(enrollment_from_row).collect()
    }

    /// Courses in which the user holds an active verified run enrollment.
    pub(crate) async fn verified_courses(conn: &mut Conn, user: i64) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT r.course_id FROM course_run_enrollments e \
             JOIN course_runs r ON r.id = e.run_id \
             WHERE e.user_id = $1 AND e.active AND e.enrollment_mode = 'verified' ORDER BY 1",
        )
        .bind(user)
        .fetch_all(&mut *conn)
        .await?)
    }

    /// The program's requirements tree (an empty root when it has none).
    pub(crate) async fn tree(conn: &mut Conn, program: i64) -> Result<RequirementNode, StoreError> {
        let rows = sqlx::query(
            "SELECT id, parent_id, node_type, operator, operator_value, course_id, \
             required_program_id, title, elective_flag FROM program_requirements \
             WHERE program_id = $1 ORDER BY position, id",
        )
        .bind(program)
        .fetch_all(&mut *conn)
        .await?;
        let mut nodes = Vec::with_capacity(rows.len());
        for row in &rows {
            let kind = match row.try_get::<String, _>("node_type")?.as_str() {
                "program_root" => RequirementKind::ProgramRoot,
                "course" => RequirementKind::Course {
                    course: CourseId(row.try_get::<Option<i64>, _>("course_id")?.unwrap_or_default()),
                },
                "program" => RequirementKind::Program {
                    required_program: ProgramId(
                        row.try_get::<Option<i64>, _>("required_program_id")?.unwrap_or_default(),
                    ),
                },
                _ => {
                    let operator: Option<String> = row.try_get("operator")?;
                    let value: Option<String> = row.try_get("operator_value")?;
                    RequirementKind::Operator {
                        operator: Operator::parse(operator.as_deref().unwrap_or_default(), value.as_deref())
                            .map_err(|e| StoreError::corrupt("program_requirements", "operator", e))?,
                    }
                }
            };
            let id: i64 = row.try_get("id")?;
            let parent: Option<i64> = row.try_get("parent_id")?;
            let node = RequirementNode {
                id: Some(RequirementNodeId(id)),
                kind,
                title: row.try_get("title")?,
                elective_flag: row.try_get("elective_flag")?,
                children: Vec::new(),
            };
            nodes.push((id, parent, node));
        }
        fn build(nodes: &[(i64, Option<i64>, RequirementNode)], parent: i64, depth: usize) -> Vec<RequirementNode> {
            if depth > 64 {
                return Vec::new();
            }
            nodes
                .iter()
                .filter(|(_, p, _)| *p == Some(parent))
                .map(|(id, _, node)| {
                    let mut node = node.clone();
                    node.children = build(nodes, *id, depth + 1);
                    node
                })
                .collect()
        }
        Ok(match nodes.iter().find(|(_, p, _)| p.is_none()) {
            Some((id, _, root)) => {
                let mut root = root.clone();
                root.children = build(&nodes, *id, 1);
                root
            }
            None => RequirementNode::root(),
        })
    }

    pub(crate) async fn set_live(conn: &mut Conn, program: i64, live: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE programs SET live = $2 WHERE id = $1")
            .bind(program)
            .bind(live)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        Ok(())
    }

    pub(crate) async fn insert_paid_program(
        conn: &mut Conn,
        user: i64,
        program: i64,
        order_state: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let order = sqlx::query(
            "INSERT INTO orders (state, purchaser_id, created_on, updated_on) \
             VALUES ($1, $2, $3, $3) RETURNING id",
        )
        .bind(order_state)
        .bind(user)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        let order: i64 = order.try_get("id")?;
        sqlx::query(
            "INSERT INTO paid_programs (user_id, program_id, order_id, created_on, updated_on) \
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(user)
        .bind(program)
        .bind(order)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    /// Every program with its requirements tree (two reads; trees are small).
    pub(crate) async fn with_requirements(conn: &mut Conn) -> Result<Vec<Program>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {PROGRAM_COLUMNS} FROM programs p ORDER BY p.id"
        ));
        let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
        let mut programs = rows.iter().map(program_from_row).collect::<Result<Vec<_>, _>>()?;
        let nodes = sqlx::query(
            "SELECT id, program_id, parent_id, node_type, operator, operator_value, course_id, \
             required_program_id, title, elective_flag FROM program_requirements \
             ORDER BY program_id, position, id",
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut flat = Vec::with_capacity(nodes.len());
        for row in &nodes {
            flat.push(FlatNode {
                id: row.try_get("id")?,
                program: row.try_get("program_id")?,
                parent: row.try_get("parent_id")?,
                node_type: row.try_get("node_type")?,
                operator: row.try_get("operator")?,
                operator_value: row.try_get("operator_value")?,
                course: row.try_get("course_id")?,
                required_program: row.try_get("required_program_id")?,
                title: row.try_get("title")?,
                elective: row.try_get("elective_flag")?,
            });
        }
        for program in &mut programs {
            let own: Vec<&FlatNode> = flat.iter().filter(|n| n.program == program.id.0).collect();
            if let Some(root) = own.iter().find(|n| n.parent.is_none()) {
                program.requirements = build_tree(root, &own)?;
            }
        }
        Ok(programs)
    }

}

impl Store {
    /// Every program with its requirements tree and offered modes (departments are not
    /// loaded): what certificate eligibility evaluates.
    pub async fn programs_with_requirements(&self) -> Result<Vec<Program>, StoreError> {
        with_db!(conn: self, conn, q => q::with_requirements(conn).await)
    }

    /// The program with this id (without departments or requirements), if it exists.
    pub async fn enrollment_program(
        &self,
        program: ProgramId,
    ) -> Result<Option<Program>, StoreError> {
        with_db!(conn: self, conn, q => q::program(conn, program.0).await)
    }

    /// The user's row for the program (active or not), if any.
    pub async fn program_enrollment(
        &self,
        user: UserId,
        program: ProgramId,
    ) -> Result<Option<ProgramEnrollmentRecord>, StoreError> {
        with_db!(conn: self, conn, q => q::by_user_program(conn, user.0, program.0).await)
    }

    /// The user's active, non-`unenrolled` program enrollments, newest first.
    pub async fn active_program_enrollments(
        &self,
        user: UserId,
    ) -> Result<Vec<ProgramEnrollmentWithProgram>, StoreError> {
        with_db!(conn: self, conn, q => q::active_for_user(conn, user.0).await)
    }

    /// Whether the user has a paid-program row for the program whose order is fulfilled.
    pub async fn has_fulfilled_paid_program(
        &self,
        user: UserId,
        program: ProgramId,
    ) -> Result<bool, StoreError> {
        with_db!(conn: self, conn, q => q::has_fulfilled_paid(conn, user.0, program.0).await)
    }
}

impl Store {
    /// Active audit program enrollments with an id above `after`, by id, at most `limit`
    /// (the auto-upgrade's candidates, courses spec 2.8).
    pub async fn audit_program_enrollments(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ProgramEnrollmentRecord>, StoreError> {
        with_db!(conn: self, conn, q => q::audit_enrollments(conn, after, limit).await)
    }

    /// The courses in which the user holds an active verified run enrollment, by id.
    pub async fn verified_course_ids(&self, user: UserId) -> Result<Vec<CourseId>, StoreError> {
        let ids = with_db!(conn: self, conn, q => q::verified_courses(conn, user.0).await)?;
        Ok(ids.into_iter().map(CourseId).collect())
    }

    /// The program's requirements tree with course and program ids (an empty root when it
    /// has none).
    pub async fn program_requirement_tree(
        &self,
        program: ProgramId,
    ) -> Result<RequirementNode, StoreError> {
        with_db!(conn: self, conn, q => q::tree(conn, program.0).await)
    }

    /// The program with its requirements tree (departments are not loaded).
    pub async fn program_with_requirements(
        &self,
        program: ProgramId,
    ) -> Result<Option<Program>, StoreError> {
        let Some(mut found) = self.enrollment_program(program).await? else {
            return Ok(None);
        };
        found.requirements = self.program_requirement_tree(program).await?;
        Ok(Some(found))
    }
}

impl Tx {
    /// Saves one planned program enrollment row (`before` = the row the plan started from):
    /// creates it when `before` is `None`, else updates it if it still holds what was read
    /// (compare-and-set); an audit row is written when the row changed.
    /// [`SavedProgramEnrollment::Raced`] when another writer got there first: roll back,
    /// read again and plan again.
    pub async fn save_program_enrollment(
        &mut self,
        before: Option<&ProgramEnrollmentRecord>,
        after: &ProgramEnrollment,
        acting_user: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<SavedProgramEnrollment, StoreError> {
        let after_json = audit_json(after)?;
        let before_json = before.map(|b| audit_json(&b.enrollment)).transpose()?;
        let changed = before.map(|b| &b.enrollment) != Some(after);
        let acting = acting_user.map(|u| u.0);
        let saved = with_db!(tx: self, conn, q => {
            let id = match before {
                None => match q::insert_if_absent(conn, after, now).await? {
                    Some(id) => id,
                    None => return Ok(SavedProgramEnrollment::Raced),
                },
                Some(record) => {
                    if changed
                        && !q::update_if_unchanged(conn, record.id, &record.enrollment, after, now)
                            .await?
                    {
                        return Ok(SavedProgramEnrollment::Raced);
                    }
                    record.id
                }
            };
            if changed {
                q::audit(conn, id, acting, before_json.as_deref(), &after_json, now).await?;
            }
            q::by_id(conn, id).await?
        });
        saved
            .map(SavedProgramEnrollment::Saved)
            .ok_or_else(|| StoreError::NotFound {
                entity: "program enrollment",
                key: format!("{}/{}", after.user, after.program),
            })
    }
}

#[cfg(feature = "testing")]
impl crate::Database {
    /// Test fixture: an order in `order_state` purchased by `user` with a paid-program row
    /// for `program`, in one transaction.
    pub async fn insert_paid_program_fixture(
        &self,
        user: UserId,
        program: ProgramId,
        order_state: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        with_db!(tx: &mut tx, conn, q => {
            q::insert_paid_program(conn, user.0, program.0, order_state, now).await?;
        });
        tx.commit().await?;
        Ok(())
    }

    /// Test fixture: marks a program live or not.
    pub async fn set_program_live_fixture(
        &self,
        program: ProgramId,
        live: bool,
    ) -> Result<(), StoreError> {
        with_db!(conn: self, conn, q => q::set_live(conn, program.0, live).await)
    }
}
