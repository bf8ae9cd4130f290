//! The program requirements tree and its evaluation (courses spec 1.6 and 3.6).

use serde::{Deserialize, Serialize};

use crate::ids::{CourseId, ProgramId, RequirementNodeId};

/// An operator node's rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "operator",
    content = "operator_value",
    rename_all = "snake_case"
)]
pub enum Operator {
    /// Every child must hold.
    AllOf,
    /// At least `n` children must hold.
    MinNumberOf(u32),
}

impl Operator {
    /// Parses the stored `operator` / `operator_value` pair (`min_number_of` needs a
    /// non-negative integer text).
    pub fn parse(operator: &str, value: Option<&str>) -> Result<Self, RequirementError> {
        match operator {
            "all_of" => Ok(Operator::AllOf),
            "min_number_of" => {
                let text = value.unwrap_or("").trim();
                text.parse::<u32>()
                    .map(Operator::MinNumberOf)
                    .map_err(|_| RequirementError::BadOperatorValue(text.to_owned()))
            }
            other => Err(RequirementError::UnknownOperator(other.to_owned())),
        }
    }

    /// The stored `operator` text.
    pub fn name(self) -> &'static str {
        match self {
            Operator::AllOf => "all_of",
            Operator::MinNumberOf(_) => "min_number_of",
        }
    }

    /// The stored `operator_value` text.
    pub fn value(self) -> Option<String> {
        match self {
            Operator::AllOf => None,
            Operator::MinNumberOf(n) => Some(n.to_string()),
        }
    }
}

/// Why a requirements tree was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequirementError {
    #[error("unknown operator '{0}' (expected all_of or min_number_of)")]
    UnknownOperator(String),
    #[error("min_number_of needs a whole number of 0 or more, got '{0}'")]
    BadOperatorValue(String),
    #[error("the root of a requirements tree must be a program_root node")]
    RootNotProgramRoot,
    #[error("a program_root node may only be the root of the tree")]
    NestedRoot,
    #[error("course and program nodes cannot have children")]
    LeafWithChildren,
}

/// What a node is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "node_type", rename_all = "snake_case")]
pub enum RequirementKind {
    /// The single root of a program's tree (behaves as all-of).
    ProgramRoot,
    /// An all-of or min-number-of group.
    Operator { operator: Operator },
    /// A course requirement.
    Course { course: CourseId },
    /// A sub-program requirement.
    Program { required_program: ProgramId },
}

/// A node of a requirements tree; children keep their sibling order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequirementNode {
    pub id: Option<RequirementNodeId>,
    pub kind: RequirementKind,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub elective_flag: bool,
    #[serde(default)]
    pub children: Vec<RequirementNode>,
}

impl RequirementNode {
    /// An empty program root.
    pub fn root() -> Self {
        Self::node(RequirementKind::ProgramRoot)
    }

    /// The conventional "Required Courses" group: all of `courses`.
    pub fn required_courses(courses: &[CourseId]) -> Self {
        let mut node = Self::node(RequirementKind::Operator {
            operator: Operator::AllOf,
        });
        node.title = "Required Courses".into();
        node.children = courses.iter().map(|&c| Self::course(c)).collect();
        node
    }

    /// The conventional "Elective Courses" group: at least `n` of `children`.
    pub fn electives(n: u32, children: Vec<RequirementNode>) -> Self {
        let mut node = Self::node(RequirementKind::Operator {
            operator: Operator::MinNumberOf(n),
        });
        node.title = "Elective Courses".into();
        node.elective_flag = true;
        node.children = children;
        node
    }

    /// An operator group with the given children.
    pub fn operator(operator: Operator, children: Vec<RequirementNode>) -> Self {
        let mut node = Self::node(RequirementKind::Operator { operator });
        node.children = children;
        node
    }

    /// A course leaf.
    pub fn course(course: CourseId) -> Self {
        Self::node(RequirementKind::Course { course })
    }

    /// A sub-program leaf.
    pub fn program(program: ProgramId) -> Self {
        Self::node(RequirementKind::Program {
            required_program: program,
        })
    }

    fn node(kind: RequirementKind) -> Self {
        RequirementNode {
            id: None,
            kind,
            title: String::new(),
            elective_flag: false,
            children: Vec::new(),
        }
    }

    /// Adds a child and returns self (builder style).
    pub fn with_child(mut self, child: RequirementNode) -> Self {
        self.children.push(child);
        self
    }

    /// Checks the shape: a program_root at the top only, leaves without children.
    pub fn validate(&self) -> Result<(), RequirementError> {
        if self.kind != RequirementKind::ProgramRoot {
            return Err(RequirementError::RootNotProgramRoot);
        }
        fn check(node: &RequirementNode) -> Result<(), RequirementError> {
            for child in &node.children {
                match child.kind {
                    RequirementKind::ProgramRoot => return Err(RequirementError::NestedRoot),
                    RequirementKind::Course { .. } | RequirementKind::Program { .. }
                        if !child.children.is_empty() =>
                    {
                        return Err(RequirementError::LeafWithChildren);
                    }
                    _ => check(child)?,
                }
            }
            Ok(())
        }
        check(self)
    }

    /// Evaluates the tree: root and all-of need every child (none ⇒ true); min-number-of n
    /// needs at least n true children, a nested group counting once; a course node asks
    /// `course_passed`; a program node asks `program_completed`.
    pub fn evaluate(
        &self,
        course_passed: &mut dyn FnMut(CourseId) -> bool,
        program_completed: &mut dyn FnMut(ProgramId) -> bool,
    ) -> bool {
        match &self.kind {
            RequirementKind::ProgramRoot
            | RequirementKind::Operator {
                operator: Operator::AllOf,
            } => self
                .children
                .iter()
                .all(|c| c.evaluate(course_passed, program_completed)),
            RequirementKind::Operator {
                operator: Operator::MinNumberOf(n),
            } => {
                let mut count: u32 = 0;
                for child in &self.children {
                    if count >= *n {
                        break;
                    }
                    if child.evaluate(course_passed, program_completed) {
                        count += 1;
                    }
                }
                count >= *n
            }
            RequirementKind::Course { course } => course_passed(*course),
            RequirementKind::Program { required_program } => program_completed(*required_program),
        }
    }

    /// Every course referenced anywhere in the tree, in tree order, without repeats.
    pub fn all_courses(&self) -> Vec<CourseId> {
        let mut out = Vec::new();
        self.walk(&mut |node, _| {
            if let RequirementKind::Course { course } = node.kind
                && !out.contains(&course)
            {
                out.push(course);
            }
        });
        out
    }

    /// Whether any course node references `course` ("program contains course").
    pub fn contains_course(&self, course: CourseId) -> bool {
        let mut found = false;
        self.walk(&mut |node, _| {
            if node.kind == (RequirementKind::Course { course }) {
                found = true;
            }
        });
        found
    }

    /// Course nodes under depth-2 operators whose elective flag is false.
    pub fn required_course_ids(&self) -> Vec<CourseId> {
        self.courses_under_top_groups(false)
    }

    /// Course nodes under depth-2 operators whose elective flag is true.
    pub fn elective_course_ids(&self) -> Vec<CourseId> {
        self.courses_under_top_groups(true)
    }

    /// The operator value of the first elective depth-2 min-number-of group.
    pub fn minimum_elective_courses_requirement(&self) -> Option<u32> {
        self.children.iter().find_map(|c| match c.kind {
            RequirementKind::Operator {
                operator: Operator::MinNumberOf(n),
            } if c.elective_flag => Some(n),
            _ => None,
        })
    }

    /// Sub-programs under non-elective (`false`) or elective (`true`) ancestor operators.
    pub fn program_ids(&self, elective: bool) -> Vec<ProgramId> {
        let mut out = Vec::new();
        fn go(node: &RequirementNode, under_elective: bool, want: bool, out: &mut Vec<ProgramId>) {
            for child in &node.children {
                let flag = under_elective
                    || (matches!(child.kind, RequirementKind::Operator { .. })
                        && child.elective_flag);
                match child.kind {
                    RequirementKind::Program { required_program } if under_elective == want => {
                        if !out.contains(&required_program) {
                            out.push(required_program);
                        }
                    }
                    _ => go(child, flag, want, out),
                }
            }
        }
        go(self, false, elective, &mut out);
        out
    }

    fn courses_under_top_groups(&self, elective: bool) -> Vec<CourseId> {
        let mut out = Vec::new();
        for group in &self.children {
            if matches!(group.kind, RequirementKind::Operator { .. })
                && group.elective_flag == elective
            {
                for course in group.all_courses() {
                    if !out.contains(&course) {
                        out.push(course);
                    }
                }
            }
        }
        out
    }

    /// Visits every node depth-first with its depth (the root is depth 1).
    pub fn walk(&self, visit: &mut dyn FnMut(&RequirementNode, usize)) {
        fn go(
            node: &RequirementNode,
            depth: usize,
            visit: &mut dyn FnMut(&RequirementNode, usize),
        ) {
            visit(node, depth);
            for child in &node.children {
                go(child, depth + 1, visit);
            }
        }
        go(self, 1, visit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: i64) -> CourseId {
        CourseId(id)
    }

    /// required {1}, electives min 2 of {2, 3, min 1 of {4, 5}}
    fn tree() -> RequirementNode {
        RequirementNode::root()
            .with_child(RequirementNode::required_courses(&[c(1)]))
            .with_child(RequirementNode::electives(
                2,
                vec![
                    RequirementNode::course(c(2)),
                    RequirementNode::course(c(3)),
                    RequirementNode::operator(
                        Operator::MinNumberOf(1),
                        vec![RequirementNode::course(c(4)), RequirementNode::course(c(5))],
                    ),
                ],
            ))
    }

    fn eval(tree: &RequirementNode, passed: &[i64]) -> bool {
        tree.evaluate(&mut |course| passed.contains(&course.0), &mut |_| false)
    }

    #[test]
    fn evaluation_table() {
        let t = tree();
        let cases: [(&[i64], bool); 7] = [
            (&[], false),
            (&[1], false),
            (&[1, 2], false),
            (&[1, 2, 3], true),
            (&[1, 4, 5], false), // the nested group counts once
            (&[1, 2, 5], true),
            (&[2, 3, 4], false), // the required course is missing
        ];
        for (passed, expected) in cases {
            assert_eq!(eval(&t, passed), expected, "passed {passed:?}");
        }
    }

    #[test]
    fn empty_groups_and_root_hold() {
        assert!(eval(&RequirementNode::root(), &[]));
        let zero = RequirementNode::root().with_child(RequirementNode::electives(0, vec![]));
        assert!(eval(&zero, &[]));
        let unmet = RequirementNode::root().with_child(RequirementNode::electives(1, vec![]));
        assert!(!eval(&unmet, &[]));
    }

    #[test]
    fn derived_lists() {
        let t = tree();
        assert_eq!(t.required_course_ids(), vec![c(1)]);
        assert_eq!(t.elective_course_ids(), vec![c(2), c(3), c(4), c(5)]);
        assert_eq!(t.minimum_elective_courses_requirement(), Some(2));
        assert!(t.contains_course(c(5)));
        assert!(!t.contains_course(c(9)));
        assert_eq!(t.all_courses().len(), 5);
        let with_programs = RequirementNode::root()
            .with_child(
                RequirementNode::required_courses(&[])
                    .with_child(RequirementNode::program(ProgramId(9))),
            )
            .with_child(RequirementNode::electives(
                1,
                vec![RequirementNode::program(ProgramId(8))],
            ));
        assert_eq!(with_programs.program_ids(false), vec![ProgramId(9)]);
        assert_eq!(with_programs.program_ids(true), vec![ProgramId(8)]);
    }

    #[test]
    fn operator_parsing() {
        assert_eq!(Operator::parse("all_of", None), Ok(Operator::AllOf));
        assert_eq!(
            Operator::parse("min_number_of", Some("2")),
            Ok(Operator::MinNumberOf(2))
        );
        assert!(Operator::parse("min_number_of", Some("-1")).is_err());
        assert!(Operator::parse("min_number_of", None).is_err());
        assert!(Operator::parse("any_of", None).is_err());
    }

    #[test]
    fn shape_validation() {
        assert_eq!(tree().validate(), Ok(()));
        assert_eq!(
            RequirementNode::course(c(1)).validate(),
            Err(RequirementError::RootNotProgramRoot)
        );
        let nested = RequirementNode::root().with_child(RequirementNode::root());
        assert_eq!(nested.validate(), Err(RequirementError::NestedRoot));
        let leafy = RequirementNode::root()
            .with_child(RequirementNode::course(c(1)).with_child(RequirementNode::course(c(2))));
        assert_eq!(leafy.validate(), Err(RequirementError::LeafWithChildren));
    }
}
