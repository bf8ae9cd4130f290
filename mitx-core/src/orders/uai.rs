//! Detection of UAI (Universal AI) items, which change receipts, CRM accounts and the
//! post-payment redirect (ecommerce spec 3.3 step 3, 4.2, 5.1).

use crate::catalog::{CoursewareId, ReadableId};
use crate::ids::{ContractId, CourseRunId, ProgramId};

/// What one order line (or basket item) purchases, with the identifiers the order rules
/// look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PurchasedItem {
    /// A course run (verified upgrade).
    CourseRun {
        /// The run.
        run: CourseRunId,
        /// Its Open edX key, for the UAI prefix rules.
        courseware_id: CoursewareId,
        /// The B2B contract the run belongs to, if any.
        contract: Option<ContractId>,
    },
    /// A program.
    Program {
        /// The program.
        program: ProgramId,
        /// Its readable id, for the UAI prefix rules.
        readable_id: ReadableId,
    },
}

impl PurchasedItem {
    /// Whether this is a UAI item: a run whose courseware id starts with `course-v1:UAI_`
    /// or `UAI_`, or a program whose readable id starts with `program-v1:UAI`.
    pub fn is_uai(&self) -> bool {
        match self {
            PurchasedItem::CourseRun { courseware_id, .. } => {
                is_uai_courseware_id(courseware_id.as_str())
            }
            PurchasedItem::Program { readable_id, .. } => is_uai_program_id(readable_id.as_str()),
        }
    }

    /// Whether this is a UAI B2C item, which sends the learner to the MIT Learn dashboard
    /// after payment: run prefix `course-v1:UAI_B2C`, program prefix `program-v1:UAI+B2C`.
    pub fn is_uai_b2c(&self) -> bool {
        match self {
            PurchasedItem::CourseRun { courseware_id, .. } => {
                courseware_id.as_str().starts_with("course-v1:UAI_B2C")
            }
            PurchasedItem::Program { readable_id, .. } => {
                readable_id.as_str().starts_with("program-v1:UAI+B2C")
            }
        }
    }

    /// Whether this is a course run of a B2B contract.
    pub fn is_b2b_run(&self) -> bool {
        matches!(
            self,
            PurchasedItem::CourseRun {
                contract: Some(_),
                ..
            }
        )
    }

    /// The course run, if this item is one.
    pub fn course_run(&self) -> Option<CourseRunId> {
        match self {
            PurchasedItem::CourseRun { run, .. } => Some(*run),
            PurchasedItem::Program { .. } => None,
        }
    }
}

/// UAI rule for a course-run key: starts with `course-v1:UAI_` or `UAI_`.
pub fn is_uai_courseware_id(courseware_id: &str) -> bool {
    courseware_id.starts_with("course-v1:UAI_") || courseware_id.starts_with("UAI_")
}

/// UAI rule for a program readable id: starts with `program-v1:UAI`.
pub fn is_uai_program_id(readable_id: &str) -> bool {
    readable_id.starts_with("program-v1:UAI")
}

/// An order is a UAI order when any of its items is.
pub fn is_uai_order(items: &[PurchasedItem]) -> bool {
    items.iter().any(PurchasedItem::is_uai)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn run_item(id: i64, key: &str) -> PurchasedItem {
        PurchasedItem::CourseRun {
            run: CourseRunId(id),
            courseware_id: CoursewareId::parse(key).unwrap(),
            contract: None,
        }
    }

    pub fn program_item(id: i64, readable: &str) -> PurchasedItem {
        PurchasedItem::Program {
            program: ProgramId(id),
            readable_id: ReadableId::parse(readable).unwrap(),
        }
    }

    #[test]
    fn uai_prefixes() {
        let cases = [
            (
                run_item(1, "course-v1:UAI_SOURCE+AI101+1T2026"),
                true,
                false,
            ),
            (run_item(1, "course-v1:UAI_B2C+AI101+1T2026"), true, true),
            (run_item(1, "UAI_legacy"), true, false),
            (run_item(1, "course-v1:MITx+UAI_+1T2026"), false, false),
            (run_item(1, "course-v1:MITx+6.001x+1T2026"), false, false),
            (program_item(2, "program-v1:UAI+B2C"), true, true),
            (program_item(2, "program-v1:UAIx+Foo"), true, false),
            (program_item(2, "program-v1:MITx+DEDP"), false, false),
        ];
        for (item, uai, b2c) in cases {
            assert_eq!(item.is_uai(), uai, "{item:?}");
            assert_eq!(item.is_uai_b2c(), b2c, "{item:?}");
        }
        assert!(is_uai_order(&[
            run_item(1, "course-v1:MITx+6.001x+1T2026"),
            run_item(2, "course-v1:UAI_X+Y+Z")
        ]));
        assert!(!is_uai_order(&[]));
    }
}
