//! Program certificates: eligibility over the requirements tree and the generation
//! decision (courses spec 3.6 and 3.7).

use std::collections::BTreeMap;

use uuid::Uuid;

use super::certificate::{
    Certificate, CertificateEffect, CourseRunCertificate, NewCertificate, PageRevisionId,
    ProgramCertificate,
};
use super::grade::CourseRunGrade;
use crate::Timestamp;
use crate::catalog::{CourseRun, EnrollmentMode, Program};
use crate::enrollment::{ProgramEnrollment, RunEnrollment};
use crate::ids::{CourseId, CourseRunId, ProgramId, UserId};

/// What is known about one learner, as plain data: the catalog runs and programs that
/// matter, and the learner's enrollments, grades and certificates keyed by run or program
/// (each is unique per user and run / program).
#[derive(Clone, Debug, PartialEq)]
pub struct LearnerFacts {
    pub user: UserId,
    /// Catalog runs of the courses in question (any learner's view of them).
    pub runs: BTreeMap<CourseRunId, CourseRun>,
    /// Programs, including every sub-program a requirements tree refers to.
    pub programs: BTreeMap<ProgramId, Program>,
    pub run_enrollments: BTreeMap<CourseRunId, RunEnrollment>,
    pub grades: BTreeMap<CourseRunId, CourseRunGrade>,
    /// Course-run certificates, revoked ones included.
    pub course_certificates: BTreeMap<CourseRunId, CourseRunCertificate>,
    pub program_enrollments: BTreeMap<ProgramId, ProgramEnrollment>,
    /// Program certificates, revoked ones included.
    pub program_certificates: BTreeMap<ProgramId, ProgramCertificate>,
}

impl LearnerFacts {
    /// No facts yet about `user`.
    pub fn new(user: UserId) -> Self {
        LearnerFacts {
            user,
            runs: BTreeMap::new(),
            programs: BTreeMap::new(),
            run_enrollments: BTreeMap::new(),
            grades: BTreeMap::new(),
            course_certificates: BTreeMap::new(),
            program_enrollments: BTreeMap::new(),
            program_certificates: BTreeMap::new(),
        }
    }

    /// Whether `run` is one of the relevant runs R of 3.6: usable, non-variant, and the
    /// learner holds an active enrollment in it that was never moved away (change_status
    /// null). Restricting R to the program's courses is implicit: only courses of the tree
    /// are ever asked about.
    pub fn is_relevant_run(&self, run: &CourseRun) -> bool {
        run.is_usable()
            && run.is_non_variant()
            && self
                .run_enrollments
                .get(&run.id)
                .is_some_and(|e| e.active && e.change_status.is_none())
    }

    /// A course is passed when, in some relevant run, the learner holds a non-revoked
    /// certificate, or a passed grade in a run that does not offer `verified` (an
    /// audit-only run). A passed grade in a run offering verified needs the certificate.
    pub fn course_passed(&self, course: CourseId) -> bool {
        self.runs
            .values()
            .filter(|run| run.course_id == course && self.is_relevant_run(run))
            .any(|run| {
                let certified = self
                    .course_certificates
                    .get(&run.id)
                    .is_some_and(|c| !c.is_revoked);
                let passed_audit_only =
                    !run.offers_verified() && self.grades.get(&run.id).is_some_and(|g| g.passed);
                certified || passed_audit_only
            })
    }

    /// Whether the learner holds a non-revoked certificate for `program`.
    pub fn has_program_certificate(&self, program: ProgramId) -> bool {
        self.program_certificates
            .get(&program)
            .is_some_and(|c| !c.is_revoked)
    }
}

/// Whether the learner has met `program`'s requirements (3.6). Course nodes ask
/// [`LearnerFacts::course_passed`]. A program node is met by a non-revoked certificate for
/// a paid sub-program (any mode requires payment), or by the free sub-program's own tree,
/// evaluated recursively without needing an enrollment. Unknown sub-programs and cycles
/// (a program reached again while it is being evaluated) count as not met, so evaluation
/// always ends.
pub fn is_program_eligible(program: &Program, facts: &LearnerFacts) -> bool {
    let mut in_progress = vec![program.id];
    evaluate(program, facts, &mut in_progress)
}

fn evaluate(program: &Program, facts: &LearnerFacts, in_progress: &mut Vec<ProgramId>) -> bool {
    program
        .requirements
        .evaluate(&mut |course| facts.course_passed(course), &mut |sub| {
            sub_program_met(sub, facts, in_progress)
        })
}

fn sub_program_met(id: ProgramId, facts: &LearnerFacts, in_progress: &mut Vec<ProgramId>) -> bool {
    if in_progress.contains(&id) {
        return false;
    }
    let Some(sub) = facts.programs.get(&id) else {
        return false;
    };
    if sub.requires_payment() {
        return facts.has_program_certificate(id);
    }
    in_progress.push(id);
    let met = evaluate(sub, facts, in_progress);
    in_progress.pop();
    met
}

/// Why no program certificate was generated ((none, false) in the original).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotGeneratedReason {
    /// Not forced and the learner has no active `verified` program enrollment.
    NoVerifiedEnrollment,
    /// Not forced and the requirements are not met.
    RequirementsNotMet,
}

/// The outcome of `generate(user, program, force)` (3.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgramCertificateGeneration {
    /// A certificate row already exists, even a revoked one: it is returned, nothing is
    /// created and nothing is un-revoked (created = false).
    Existing(ProgramCertificate),
    /// Insert this certificate and perform its effects (created = true). A new program
    /// certificate does not itself trigger parent programs.
    Created(NewCertificate<ProgramId>),
    /// Nothing is generated (created = false).
    NotGenerated(NotGeneratedReason),
}

impl ProgramCertificateGeneration {
    /// Whether a certificate row is created.
    pub fn created(&self) -> bool {
        matches!(self, ProgramCertificateGeneration::Created(_))
    }

    /// The certificate returned to the caller, if any.
    pub fn certificate(&self) -> Option<&ProgramCertificate> {
        match self {
            ProgramCertificateGeneration::Existing(certificate) => Some(certificate),
            ProgramCertificateGeneration::Created(new) => Some(&new.certificate),
            ProgramCertificateGeneration::NotGenerated(_) => None,
        }
    }
}

/// Decides program certificate generation (3.7):
/// 1. unless forced, require an active `verified` program enrollment;
/// 2. return any existing certificate row, revoked or not;
/// 3. unless forced, require eligibility (3.6);
/// 4. create it, pinning the program's certificate page revision when there is one, then
///    sync the CRM and sign a verifiable credential.
pub fn generate_program_certificate(
    program: &Program,
    facts: &LearnerFacts,
    force: bool,
    certificate_page_revision: Option<PageRevisionId>,
    now: Timestamp,
    new_uuid: &mut dyn FnMut() -> Uuid,
) -> ProgramCertificateGeneration {
    if !force {
        let verified = facts
            .program_enrollments
            .get(&program.id)
            .is_some_and(|e| e.active && e.mode == EnrollmentMode::Verified);
        if !verified {
            return ProgramCertificateGeneration::NotGenerated(
                NotGeneratedReason::NoVerifiedEnrollment,
            );
        }
    }
    if let Some(existing) = facts.program_certificates.get(&program.id) {
        return ProgramCertificateGeneration::Existing(existing.clone());
    }
    if !force && !is_program_eligible(program, facts) {
        return ProgramCertificateGeneration::NotGenerated(NotGeneratedReason::RequirementsNotMet);
    }
    let certificate = Certificate::issue(
        new_uuid(),
        facts.user,
        program.id,
        now,
        certificate_page_revision,
    );
    ProgramCertificateGeneration::Created(NewCertificate {
        certificate,
        effects: vec![
            CertificateEffect::SyncCrm,
            CertificateEffect::IssueVerifiableCredential,
        ],
    })
}

/// Whether the daily missing-certificate job looks at this program enrollment: an active
/// `verified` enrollment in a live program for which the learner has no certificate row at
/// all (revoked rows count as rows).
pub fn needs_missing_certificate_check(
    enrollment: &ProgramEnrollment,
    program: &Program,
    has_certificate_row: bool,
) -> bool {
    enrollment.active
        && enrollment.mode == EnrollmentMode::Verified
        && program.live
        && !has_certificate_row
}

/// Counters of the daily missing-certificate job; each record is isolated, so a failure
/// only counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MissingCertificateStats {
    pub processed: u64,
    pub created: u64,
    pub ineligible: u64,
    pub failed: u64,
}

impl MissingCertificateStats {
    /// Counts one generation outcome.
    pub fn record(&mut self, outcome: &ProgramCertificateGeneration) {
        self.processed += 1;
        if outcome.created() {
            self.created += 1;
        } else {
            self.ineligible += 1;
        }
    }

    /// Counts one record that failed (an error performing the generation).
    pub fn record_failure(&mut self) {
        self.processed += 1;
        self.failed += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Operator, RequirementNode};
    use crate::certificates::course_run::{
        CourseCertificateDecision, CourseCertificateInput, decide_course_certificate,
    };
    use crate::certificates::fixtures::{USER, course_cert, grade_in, now, program, run_of, uuid};
    use crate::enrollment::ChangeStatus;

    /// Learner facts with one verified run per course id `c` (run id = c) and an active
    /// verified enrollment in each.
    fn facts(courses: &[i64]) -> LearnerFacts {
        let mut facts = LearnerFacts::new(USER);
        for &c in courses {
            facts.runs.insert(CourseRunId(c), run_of(c, c));
            facts.run_enrollments.insert(
                CourseRunId(c),
                RunEnrollment::new(USER, CourseRunId(c), EnrollmentMode::Verified),
            );
        }
        facts
    }

    fn certify(facts: &mut LearnerFacts, run: i64) {
        facts
            .course_certificates
            .insert(CourseRunId(run), course_cert(run, run as u128));
    }

    fn enroll_program(facts: &mut LearnerFacts, program: ProgramId, mode: EnrollmentMode) {
        facts.program_enrollments.insert(
            program,
            ProgramEnrollment {
                user: USER,
                program,
                active: true,
                change_status: None,
                mode,
            },
        );
    }

    fn generate(
        program: &Program,
        facts: &LearnerFacts,
        force: bool,
    ) -> ProgramCertificateGeneration {
        generate_program_certificate(program, facts, force, None, now(), &mut || uuid(77))
    }

    #[test]
    fn courses_s38_program_certificate_follows_last_course_certificate() {
        let p = program(10, true, &[1, 2]);
        let mut facts = facts(&[1, 2]);
        facts.programs.insert(p.id, p.clone());
        enroll_program(&mut facts, p.id, EnrollmentMode::Verified);
        certify(&mut facts, 1);
        assert_eq!(
            generate(&p, &facts, false),
            ProgramCertificateGeneration::NotGenerated(NotGeneratedReason::RequirementsNotMet)
        );

        // the C2 certificate is created: its effects ask for P's generation
        let grade = grade_in(2, 0.9, true);
        let enrollment = facts.run_enrollments[&CourseRunId(2)].clone();
        let programs = [p.clone()];
        let input = CourseCertificateInput {
            grade: &grade,
            course: CourseId(2),
            enrollment: Some(&enrollment),
            existing: None,
            forced: false,
            certificate_page_revision: None,
            programs: &programs,
        };
        let CourseCertificateDecision::Create(new) =
            decide_course_certificate(&input, now(), &mut || uuid(2))
        else {
            panic!("C2 certificate expected");
        };
        assert!(
            new.effects
                .contains(&CertificateEffect::GenerateProgramCertificate(p.id))
        );
        facts
            .course_certificates
            .insert(CourseRunId(2), new.certificate);

        let generated = generate(&p, &facts, false);
        let ProgramCertificateGeneration::Created(created) = &generated else {
            panic!("program certificate expected, got {generated:?}");
        };
        assert_eq!(created.certificate.uuid, uuid(77));
        assert_eq!(created.certificate.subject, p.id);
        assert_eq!(created.certificate.user, USER);
        assert_eq!(
            created.certificate.link(),
            format!("/certificate/program/{}/", uuid(77))
        );
        assert_eq!(
            created.effects,
            vec![
                CertificateEffect::SyncCrm,
                CertificateEffect::IssueVerifiableCredential
            ]
        );
    }

    #[test]
    fn courses_s39_required_plus_two_electives() {
        let mut p = program(10, true, &[]);
        p.requirements = RequirementNode::root()
            .with_child(RequirementNode::required_courses(&[CourseId(1)]))
            .with_child(RequirementNode::electives(
                2,
                vec![
                    RequirementNode::course(CourseId(2)),
                    RequirementNode::course(CourseId(3)),
                    RequirementNode::course(CourseId(4)),
                ],
            ));
        let mut facts = facts(&[1, 2, 3, 4]);
        enroll_program(&mut facts, p.id, EnrollmentMode::Verified);
        certify(&mut facts, 1);
        certify(&mut facts, 2);
        assert!(!is_program_eligible(&p, &facts));
        assert!(!generate(&p, &facts, false).created());
        certify(&mut facts, 4);
        assert!(is_program_eligible(&p, &facts));
        assert!(generate(&p, &facts, false).created());
    }

    #[test]
    fn courses_s40_audit_program_enrollment_needs_force() {
        let p = program(10, true, &[1, 2]);
        let mut facts = facts(&[1, 2]);
        certify(&mut facts, 1);
        certify(&mut facts, 2);
        enroll_program(&mut facts, p.id, EnrollmentMode::Audit);
        assert_eq!(
            generate(&p, &facts, false),
            ProgramCertificateGeneration::NotGenerated(NotGeneratedReason::NoVerifiedEnrollment)
        );
        assert!(generate(&p, &facts, true).created());
        // forced: created even with no program enrollment, and even when not eligible
        facts.program_enrollments.clear();
        assert!(generate(&p, &facts, true).created());
        facts.course_certificates.clear();
        assert!(generate(&p, &facts, true).created());
    }

    #[test]
    fn courses_s41_revoked_program_certificate_is_returned() {
        let p = program(10, true, &[1]);
        let mut facts = facts(&[1]);
        certify(&mut facts, 1);
        enroll_program(&mut facts, p.id, EnrollmentMode::Verified);
        let mut revoked = ProgramCertificate::issue(uuid(5), USER, p.id, now(), None);
        revoked.is_revoked = true;
        facts.program_certificates.insert(p.id, revoked.clone());
        let outcome = generate(&p, &facts, false);
        assert_eq!(
            outcome,
            ProgramCertificateGeneration::Existing(revoked.clone())
        );
        assert!(!outcome.created());
        assert_eq!(outcome.certificate(), Some(&revoked));
        // forced too: an existing row is never replaced
        assert_eq!(
            generate(&p, &facts, true),
            ProgramCertificateGeneration::Existing(revoked)
        );
    }

    #[test]
    fn courses_s42_certificate_in_deferred_run_does_not_count() {
        let p = program(10, true, &[1]);
        let mut facts = facts(&[1]);
        certify(&mut facts, 1);
        enroll_program(&mut facts, p.id, EnrollmentMode::Verified);
        assert!(is_program_eligible(&p, &facts));
        let enrollment = facts.run_enrollments.get_mut(&CourseRunId(1)).unwrap();
        enrollment.change_status = Some(ChangeStatus::Deferred);
        enrollment.mode = EnrollmentMode::Audit;
        assert!(!is_program_eligible(&p, &facts));
        assert_eq!(
            generate(&p, &facts, false),
            ProgramCertificateGeneration::NotGenerated(NotGeneratedReason::RequirementsNotMet)
        );
    }

    #[test]
    fn course_passed_table() {
        type Case = (&'static str, fn(&mut LearnerFacts), bool);
        let cases: [Case; 11] = [
            ("certificate", |f| certify(f, 1), true),
            ("no certificate, no grade", |_| {}, false),
            (
                "revoked certificate",
                |f| {
                    let mut c = course_cert(1, 1);
                    c.is_revoked = true;
                    f.course_certificates.insert(CourseRunId(1), c);
                },
                false,
            ),
            (
                "future-dated certificate still counts (only revocation matters)",
                |f| {
                    let mut c = course_cert(1, 1);
                    c.issue_date = now() + chrono::Duration::days(3);
                    f.course_certificates.insert(CourseRunId(1), c);
                },
                true,
            ),
            (
                "passed grade in a verified-offering run",
                |f| {
                    f.grades.insert(CourseRunId(1), grade_in(1, 0.9, true));
                },
                false,
            ),
            (
                "passed grade in an audit-only run",
                |f| {
                    f.runs.get_mut(&CourseRunId(1)).unwrap().enrollment_modes =
                        vec![EnrollmentMode::Audit];
                    f.grades.insert(CourseRunId(1), grade_in(1, 0.9, true));
                },
                true,
            ),
            (
                "failed grade in an audit-only run",
                |f| {
                    f.runs.get_mut(&CourseRunId(1)).unwrap().enrollment_modes =
                        vec![EnrollmentMode::Audit];
                    f.grades.insert(CourseRunId(1), grade_in(1, 0.9, false));
                },
                false,
            ),
            (
                "inactive enrollment",
                |f| {
                    certify(f, 1);
                    f.run_enrollments.get_mut(&CourseRunId(1)).unwrap().active = false;
                },
                false,
            ),
            (
                "no enrollment",
                |f| {
                    certify(f, 1);
                    f.run_enrollments.clear();
                },
                false,
            ),
            (
                "source run",
                |f| {
                    certify(f, 1);
                    f.runs.get_mut(&CourseRunId(1)).unwrap().is_source_run = true;
                },
                false,
            ),
            (
                "variant run",
                |f| {
                    certify(f, 1);
                    f.runs.get_mut(&CourseRunId(1)).unwrap().variant_length =
                        crate::catalog::VariantLength::Short;
                },
                false,
            ),
        ];
        for (name, change, expected) in cases {
            let mut f = facts(&[1]);
            change(&mut f);
            assert_eq!(f.course_passed(CourseId(1)), expected, "{name}");
        }
    }

    #[test]
    fn course_passed_in_any_of_several_runs() {
        let mut f = facts(&[1]);
        // a second run of course 1 where the learner is certified
        f.runs.insert(CourseRunId(7), run_of(7, 1));
        f.run_enrollments.insert(
            CourseRunId(7),
            RunEnrollment::new(USER, CourseRunId(7), EnrollmentMode::Verified),
        );
        assert!(!f.course_passed(CourseId(1)));
        certify(&mut f, 7);
        assert!(f.course_passed(CourseId(1)));
        assert!(!f.course_passed(CourseId(2)));
    }

    #[test]
    fn sub_programs_paid_free_unknown_and_cyclic() {
        // P10 = all of {C1, program P20}
        let mut p10 = program(10, true, &[1]);
        p10.requirements = RequirementNode::root().with_child(
            RequirementNode::required_courses(&[CourseId(1)])
                .with_child(RequirementNode::program(ProgramId(20))),
        );
        let mut p20 = program(20, true, &[2]);
        let mut f = facts(&[1, 2]);
        certify(&mut f, 1);
        certify(&mut f, 2);

        // unknown sub-program
        assert!(!is_program_eligible(&p10, &f));

        // paid sub-program: its tree is not enough, a certificate is needed
        f.programs.insert(p20.id, p20.clone());
        assert!(!is_program_eligible(&p10, &f));
        let mut cert = ProgramCertificate::issue(uuid(3), USER, p20.id, now(), None);
        cert.is_revoked = true;
        f.program_certificates.insert(p20.id, cert.clone());
        assert!(
            !is_program_eligible(&p10, &f),
            "revoked sub-program certificate"
        );
        cert.is_revoked = false;
        f.program_certificates.insert(p20.id, cert);
        assert!(is_program_eligible(&p10, &f));

        // free sub-program: evaluated recursively, no enrollment or certificate needed
        f.program_certificates.clear();
        p20.enrollment_modes = vec![EnrollmentMode::Audit];
        f.programs.insert(p20.id, p20.clone());
        assert!(is_program_eligible(&p10, &f));
        f.course_certificates.remove(&CourseRunId(2));
        assert!(!is_program_eligible(&p10, &f));

        // a cycle (P20 requires P10, free) evaluates to false instead of looping
        certify(&mut f, 2);
        p20.requirements = RequirementNode::root().with_child(RequirementNode::operator(
            Operator::AllOf,
            vec![
                RequirementNode::course(CourseId(2)),
                RequirementNode::program(ProgramId(10)),
            ],
        ));
        p10.enrollment_modes = vec![EnrollmentMode::Audit];
        f.programs.insert(p20.id, p20.clone());
        f.programs.insert(p10.id, p10.clone());
        assert!(!is_program_eligible(&p10, &f));
        // … but the cyclic branch may still be optional
        p20.requirements = RequirementNode::root().with_child(RequirementNode::operator(
            Operator::MinNumberOf(1),
            vec![
                RequirementNode::program(ProgramId(10)),
                RequirementNode::course(CourseId(2)),
            ],
        ));
        f.programs.insert(p20.id, p20);
        assert!(is_program_eligible(&p10, &f));
        // a program requiring itself
        let mut selfish = program(30, true, &[]);
        selfish.requirements =
            RequirementNode::root().with_child(RequirementNode::program(ProgramId(30)));
        selfish.enrollment_modes = vec![EnrollmentMode::Audit];
        f.programs.insert(selfish.id, selfish.clone());
        assert!(!is_program_eligible(&selfish, &f));
    }

    #[test]
    fn missing_certificate_job_selection_and_stats() {
        let p = program(10, true, &[1]);
        let enrollment = ProgramEnrollment {
            user: USER,
            program: p.id,
            active: true,
            change_status: None,
            mode: EnrollmentMode::Verified,
        };
        assert!(needs_missing_certificate_check(&enrollment, &p, false));
        assert!(!needs_missing_certificate_check(&enrollment, &p, true));
        let audit = ProgramEnrollment {
            mode: EnrollmentMode::Audit,
            ..enrollment.clone()
        };
        assert!(!needs_missing_certificate_check(&audit, &p, false));
        let inactive = ProgramEnrollment {
            active: false,
            ..enrollment.clone()
        };
        assert!(!needs_missing_certificate_check(&inactive, &p, false));
        let not_live = program(11, false, &[1]);
        assert!(!needs_missing_certificate_check(
            &enrollment,
            &not_live,
            false
        ));

        let mut stats = MissingCertificateStats::default();
        let mut f = facts(&[1]);
        enroll_program(&mut f, p.id, EnrollmentMode::Verified);
        stats.record(&generate(&p, &f, false));
        certify(&mut f, 1);
        stats.record(&generate(&p, &f, false));
        stats.record_failure();
        assert_eq!(
            stats,
            MissingCertificateStats {
                processed: 3,
                created: 1,
                ineligible: 1,
                failed: 1
            }
        );
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;
    use crate::catalog::{Operator, RequirementNode, VariantIndustry};
    use crate::certificates::fixtures::{USER, course_cert, grade_in, program, run_of};
    use crate::enrollment::ChangeStatus;

    /// One generated run of a course and the learner's standing in it.
    #[derive(Clone, Debug)]
    struct RunSpec {
        course: i64,
        usable: bool,
        variant: bool,
        audit_only: bool,
        /// 0 none, 1 active, 2 active but deferred, 3 inactive
        enrollment: u8,
        /// 0 none, 1 failed, 2 passed
        grade: u8,
        /// 0 none, 1 revoked, 2 non-revoked
        certificate: u8,
    }

    /// How the learner's standing improves.
    #[derive(Clone, Copy, Debug)]
    enum Improvement {
        /// The grade in this run becomes passing (created when missing).
        PassGrade(usize),
        /// A non-revoked certificate is added in this run.
        AddCertificate(usize),
    }

    fn tree(courses: i64) -> impl Strategy<Value = RequirementNode> {
        let leaf = (1..=courses).prop_map(|c| RequirementNode::course(CourseId(c)));
        // up to 3 levels of nested operators below the root
        let node = leaf.prop_recursive(3, 32, 4, |inner| {
            (prop::collection::vec(inner, 0..4), any::<bool>(), 0u32..4).prop_map(
                |(children, all_of, n)| {
                    let operator = if all_of {
                        Operator::AllOf
                    } else {
                        Operator::MinNumberOf(n)
                    };
                    RequirementNode::operator(operator, children)
                },
            )
        });
        prop::collection::vec(node, 0..4).prop_map(|children| {
            children
                .into_iter()
                .fold(RequirementNode::root(), RequirementNode::with_child)
        })
    }

    fn run_spec(courses: i64) -> impl Strategy<Value = RunSpec> {
        (
            1..=courses,
            prop::bool::weighted(0.9),
            prop::bool::weighted(0.1),
            any::<bool>(),
            // mostly relevant enrollments, so that eligibility is often reached
            prop_oneof![6 => Just(1u8), 1 => Just(0u8), 1 => Just(2u8), 1 => Just(3u8)],
            0u8..3,
            0u8..3,
        )
            .prop_map(
                |(course, usable, variant, audit_only, enrollment, grade, certificate)| RunSpec {
                    course,
                    usable,
                    variant,
                    audit_only,
                    enrollment,
                    grade,
                    certificate,
                },
            )
    }

    fn scenario() -> impl Strategy<Value = (RequirementNode, Vec<RunSpec>, Improvement)> {
        (1i64..=12).prop_flat_map(|courses| {
            (
                tree(courses),
                prop::collection::vec(run_spec(courses), 1..24),
                any::<bool>(),
                any::<prop::sample::Index>(),
            )
                .prop_map(|(tree, runs, grade, index)| {
                    let i = index.index(runs.len());
                    let improvement = if grade {
                        Improvement::PassGrade(i)
                    } else {
                        Improvement::AddCertificate(i)
                    };
                    (tree, runs, improvement)
                })
        })
    }

    fn facts(specs: &[RunSpec]) -> LearnerFacts {
        let mut facts = LearnerFacts::new(USER);
        for (i, spec) in specs.iter().enumerate() {
            let id = i as i64 + 1;
            let run_id = CourseRunId(id);
            let mut run = run_of(id, spec.course);
            run.is_source_run = !spec.usable;
            if spec.variant {
                run.variant_industry = VariantIndustry::Energy;
            }
            if spec.audit_only {
                run.enrollment_modes = vec![EnrollmentMode::Audit];
            }
            facts.runs.insert(run_id, run);
            if spec.enrollment > 0 {
                let mut e = RunEnrollment::new(USER, run_id, EnrollmentMode::Verified);
                e.change_status = (spec.enrollment == 2).then_some(ChangeStatus::Deferred);
                e.active = spec.enrollment != 3;
                facts.run_enrollments.insert(run_id, e);
            }
            if spec.grade > 0 {
                facts
                    .grades
                    .insert(run_id, grade_in(id, 0.5, spec.grade == 2));
            }
            if spec.certificate > 0 {
                let mut c = course_cert(id, i as u128);
                c.is_revoked = spec.certificate == 1;
                facts.course_certificates.insert(run_id, c);
            }
        }
        facts
    }

    fn improve(facts: &mut LearnerFacts, improvement: Improvement) {
        match improvement {
            Improvement::PassGrade(i) => {
                let id = i as i64 + 1;
                facts
                    .grades
                    .insert(CourseRunId(id), grade_in(id, 0.9, true));
            }
            Improvement::AddCertificate(i) => {
                let id = i as i64 + 1;
                facts
                    .course_certificates
                    .insert(CourseRunId(id), course_cert(id, 1000 + i as u128));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// Improving a grade (failing → passing) or adding a certificate never turns
        /// program eligibility from true to false. The drawn improvement is checked, and
        /// so is every other single improvement of the same facts.
        #[test]
        fn eligibility_is_monotone_in_grades((tree, runs, improvement) in scenario()) {
            let mut p = program(1, true, &[]);
            p.requirements = tree;
            let base = facts(&runs);
            let before = is_program_eligible(&p, &base);
            let mut all = vec![improvement];
            for i in 0..runs.len() {
                all.push(Improvement::PassGrade(i));
                all.push(Improvement::AddCertificate(i));
            }
            for step in all {
                let mut facts = base.clone();
                improve(&mut facts, step);
                let after = is_program_eligible(&p, &facts);
                prop_assert!(!before || after, "eligibility lost after {:?}", step);
            }
        }
    }
}
