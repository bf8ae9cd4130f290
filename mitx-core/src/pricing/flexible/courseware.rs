//! Coursewares that carry flexible pricing and the order in which lookups walk them
//! (pricing-and-b2b spec 2.1, 1.6 and the existing-request lookup of 3.3).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{CourseId, ProgramId};

/// A courseware that can carry tiers and requests: a course or a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "lowercase")]
pub enum Courseware {
    /// A course.
    Course(CourseId),
    /// A program.
    Program(ProgramId),
}

impl Courseware {
    /// The numeric id (used in the original's messages, which do not say the kind).
    pub fn id(self) -> i64 {
        match self {
            Courseware::Course(id) => id.0,
            Courseware::Program(id) => id.0,
        }
    }

    /// Parses the admin filter form `course:{id}` / `program:{id}`.
    pub fn parse_filter(text: &str) -> Option<Self> {
        let (kind, id) = text.split_once(':')?;
        let id: i64 = id.parse().ok()?;
        match kind {
            "course" => Some(Courseware::Course(CourseId(id))),
            "program" => Some(Courseware::Program(ProgramId(id))),
            _ => None,
        }
    }
}

impl fmt::Display for Courseware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Courseware::Course(id) => write!(f, "course:{id}"),
            Courseware::Program(id) => write!(f, "program:{id}"),
        }
    }
}

/// The object a lookup starts from: a product's purchasable object (a course run or a
/// program run) or a courseware itself (a form's parent courseware).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum PricedObject {
    /// A course run, given by its course.
    CourseRun(CourseId),
    /// A program run, given by its program.
    ProgramRun(ProgramId),
    /// A course.
    Course(CourseId),
    /// A program.
    Program(ProgramId),
}

/// Program membership of courses and the symmetric "related programs" relation, loaded
/// by the caller. Sets are ordered by id, which is the order the original walks them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramLinks {
    programs_by_course: BTreeMap<CourseId, BTreeSet<ProgramId>>,
    related: BTreeMap<ProgramId, BTreeSet<ProgramId>>,
}

impl ProgramLinks {
    /// No memberships, no relations.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `program` contains `course` (anywhere in its requirements).
    pub fn add_course(&mut self, program: ProgramId, course: CourseId) -> &mut Self {
        self.programs_by_course
            .entry(course)
            .or_default()
            .insert(program);
        self
    }

    /// Records that two programs are related (symmetric; a program is never related to
    /// itself).
    pub fn relate(&mut self, a: ProgramId, b: ProgramId) -> &mut Self {
        if a != b {
            self.related.entry(a).or_default().insert(b);
            self.related.entry(b).or_default().insert(a);
        }
        self
    }

    /// The programs containing `course`, by program id.
    pub fn programs_of(&self, course: CourseId) -> impl Iterator<Item = ProgramId> + '_ {
        self.programs_by_course
            .get(&course)
            .into_iter()
            .flat_map(|set| set.iter().copied())
    }

    /// The programs related to `program`, by program id.
    pub fn related_to(&self, program: ProgramId) -> impl Iterator<Item = ProgramId> + '_ {
        self.related
            .get(&program)
            .into_iter()
            .flat_map(|set| set.iter().copied())
    }
}

fn push_unique(list: &mut Vec<Courseware>, item: Courseware) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// `eligible(x)`, the order lookups walk (first hit wins, so program-level tiers and
/// requests beat course-level ones):
/// - course run → eligible(its course);
/// - course in ≥1 program → its programs (by id), the course, then the related programs
///   of each of those programs;
/// - program run → the program, then its related programs;
/// - otherwise → `[x]`.
///
/// Repeated entries are dropped (the walk stops at the first hit, so this changes no
/// result).
pub fn eligible_coursewares(object: PricedObject, links: &ProgramLinks) -> Vec<Courseware> {
    let mut list = Vec::new();
    match object {
        PricedObject::CourseRun(course) | PricedObject::Course(course) => {
            let programs: Vec<ProgramId> = links.programs_of(course).collect();
            if programs.is_empty() {
                list.push(Courseware::Course(course));
            } else {
                for &p in &programs {
                    push_unique(&mut list, Courseware::Program(p));
                }
                push_unique(&mut list, Courseware::Course(course));
                for &p in &programs {
                    for related in links.related_to(p) {
                        push_unique(&mut list, Courseware::Program(related));
                    }
                }
            }
        }
        PricedObject::ProgramRun(program) => {
            list.push(Courseware::Program(program));
            for related in links.related_to(program) {
                push_unique(&mut list, Courseware::Program(related));
            }
        }
        PricedObject::Program(program) => list.push(Courseware::Program(program)),
    }
    list
}

/// The courseware a request form stores requests against: a course that belongs to
/// programs is replaced by its first program (lowest id).
pub fn form_courseware(parent: Courseware, links: &ProgramLinks) -> Courseware {
    match parent {
        Courseware::Course(course) => links
            .programs_of(course)
            .next()
            .map_or(parent, Courseware::Program),
        Courseware::Program(_) => parent,
    }
}

/// The coursewares whose requests count as "already submitted" for a form: a course in
/// programs → the course, its programs and their related programs; a program → it and
/// its related programs; otherwise the courseware itself.
pub fn existing_request_coursewares(parent: Courseware, links: &ProgramLinks) -> Vec<Courseware> {
    let mut list = vec![parent];
    match parent {
        Courseware::Course(course) => {
            let programs: Vec<ProgramId> = links.programs_of(course).collect();
            for &p in &programs {
                push_unique(&mut list, Courseware::Program(p));
            }
            for &p in &programs {
                for related in links.related_to(p) {
                    push_unique(&mut list, Courseware::Program(related));
                }
            }
        }
        Courseware::Program(program) => {
            for related in links.related_to(program) {
                push_unique(&mut list, Courseware::Program(related));
            }
        }
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: CourseId = CourseId(12);
    const P7: ProgramId = ProgramId(7);
    const P3: ProgramId = ProgramId(3);
    const P9: ProgramId = ProgramId(9);

    fn links() -> ProgramLinks {
        let mut links = ProgramLinks::new();
        links.add_course(P7, C).add_course(P3, C).relate(P7, P9);
        links
    }

    #[test]
    fn eligible_order() {
        use Courseware::{Course, Program};
        let links = links();
        assert_eq!(
            eligible_coursewares(PricedObject::CourseRun(C), &links),
            vec![Program(P3), Program(P7), Course(C), Program(P9)]
        );
        assert_eq!(
            eligible_coursewares(PricedObject::ProgramRun(P9), &links),
            vec![Program(P9), Program(P7)]
        );
        assert_eq!(
            eligible_coursewares(PricedObject::Program(P9), &links),
            vec![Program(P9)]
        );
        assert_eq!(
            eligible_coursewares(PricedObject::CourseRun(CourseId(99)), &links),
            vec![Course(CourseId(99))]
        );
    }

    #[test]
    fn form_and_existing_request_coursewares() {
        use Courseware::{Course, Program};
        let links = links();
        assert_eq!(form_courseware(Course(C), &links), Program(P3));
        assert_eq!(
            form_courseware(Course(CourseId(1)), &links),
            Course(CourseId(1))
        );
        assert_eq!(
            existing_request_coursewares(Course(C), &links),
            vec![Course(C), Program(P3), Program(P7), Program(P9)]
        );
        assert_eq!(
            existing_request_coursewares(Program(P7), &links),
            vec![Program(P7), Program(P9)]
        );
    }

    #[test]
    fn filter_parsing() {
        assert_eq!(
            Courseware::parse_filter("program:7"),
            Some(Courseware::Program(P7))
        );
        assert_eq!(
            Courseware::parse_filter("course:12"),
            Some(Courseware::Course(C))
        );
        assert_eq!(Courseware::parse_filter("run:1"), None);
        assert_eq!(Courseware::parse_filter("course:x"), None);
        assert_eq!(Courseware::Program(P7).to_string(), "program:7");
    }
}
