//! The primary-language rule of course runs (courses spec 1.3): at most one run flagged
//! `is_primary_language` per (course, run tag, `is_source_run`, B2B contract), where two
//! runs without a contract count as the same contract (NULLs equal).
//!
//! The runs of one run tag are usually translations of one another (`language` differs);
//! the primary run is the canonical member of the group that listings show
//! ([`super::canonical_runs_per_tag`]).

use std::collections::BTreeMap;
use std::fmt;

use crate::ids::ContractId;

/// What the rule looks at of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrimaryLanguageFacts {
    /// The course (its readable id; any stable key of the course works).
    pub course: String,
    /// The run's courseware id (names the run in messages).
    pub courseware_id: String,
    /// The run tag, e.g. `1T2026`.
    pub run_tag: String,
    /// The stored `is_source_run` flag (the rule keys on the flag, not on a `SOURCE` tag).
    pub is_source_run: bool,
    /// The run's B2B contract, if any.
    pub b2b_contract: Option<ContractId>,
    /// Whether the run is flagged as the primary-language run.
    pub is_primary_language: bool,
}

/// A group of runs with more than one primary-language run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrimaryLanguageConflict {
    /// The course.
    pub course: String,
    /// The run tag.
    pub run_tag: String,
    /// The group's `is_source_run` flag.
    pub is_source_run: bool,
    /// The group's B2B contract.
    pub b2b_contract: Option<ContractId>,
    /// The courseware ids of the group's primary-language runs (two or more), sorted.
    pub runs: Vec<String>,
}

impl fmt::Display for PrimaryLanguageConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "runs {} are all marked as the primary-language run of course {} run tag {}",
            self.runs.join(" and "),
            self.course,
            self.run_tag
        )?;
        if self.is_source_run {
            f.write_str(" (source runs)")?;
        }
        if let Some(contract) = self.b2b_contract {
            write!(f, " (B2B contract {})", contract.0)?;
        }
        f.write_str(
            "; at most one may be (set \"is_primary_language\": false on the other language runs)",
        )
    }
}

impl std::error::Error for PrimaryLanguageConflict {}

/// The groups of `runs` that break the rule, ordered by course, run tag, source flag and
/// contract. Each run should appear once (the state after a change, not a change list).
pub fn primary_language_conflicts(runs: &[PrimaryLanguageFacts]) -> Vec<PrimaryLanguageConflict> {
    type Key<'a> = (&'a str, &'a str, bool, Option<i64>);
    let mut groups: BTreeMap<Key<'_>, Vec<&PrimaryLanguageFacts>> = BTreeMap::new();
    for run in runs.iter().filter(|r| r.is_primary_language) {
        let key = (
            run.course.as_str(),
            run.run_tag.as_str(),
            run.is_source_run,
            run.b2b_contract.map(|c| c.0),
        );
        groups.entry(key).or_default().push(run);
    }
    groups
        .into_values()
        .filter(|group| group.len() > 1)
        .map(|group| {
            let first = group[0];
            let mut ids: Vec<String> = group.iter().map(|r| r.courseware_id.clone()).collect();
            ids.sort();
            PrimaryLanguageConflict {
                course: first.course.clone(),
                run_tag: first.run_tag.clone(),
                is_source_run: first.is_source_run,
                b2b_contract: first.b2b_contract,
                runs: ids,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        course: &str,
        id: &str,
        tag: &str,
        source: bool,
        contract: Option<i64>,
        primary: bool,
    ) -> PrimaryLanguageFacts {
        PrimaryLanguageFacts {
            course: course.into(),
            courseware_id: id.into(),
            run_tag: tag.into(),
            is_source_run: source,
            b2b_contract: contract.map(ContractId),
            is_primary_language: primary,
        }
    }

    #[test]
    fn at_most_one_primary_run_per_group() {
        // (case, runs, expected conflicting courseware ids per group)
        type Case = (
            &'static str,
            Vec<PrimaryLanguageFacts>,
            Vec<Vec<&'static str>>,
        );
        let cases: Vec<Case> = vec![
            ("no runs", vec![], vec![]),
            (
                "one primary run, one translation",
                vec![
                    run("C", "en", "1T", false, None, true),
                    run("C", "fr", "1T", false, None, false),
                ],
                vec![],
            ),
            (
                "two primary runs of one tag",
                vec![
                    run("C", "fr", "1T", false, None, true),
                    run("C", "en", "1T", false, None, true),
                ],
                vec![vec!["en", "fr"]],
            ),
            (
                "three primary runs name all three",
                vec![
                    run("C", "b", "1T", false, None, true),
                    run("C", "a", "1T", false, None, true),
                    run("C", "c", "1T", false, None, true),
                ],
                vec![vec!["a", "b", "c"]],
            ),
            (
                "no primary run at all is allowed",
                vec![
                    run("C", "en", "1T", false, None, false),
                    run("C", "fr", "1T", false, None, false),
                ],
                vec![],
            ),
            (
                "different run tags",
                vec![
                    run("C", "a", "1T", false, None, true),
                    run("C", "b", "2T", false, None, true),
                ],
                vec![],
            ),
            (
                "different courses",
                vec![
                    run("C", "a", "1T", false, None, true),
                    run("D", "b", "1T", false, None, true),
                ],
                vec![],
            ),
            (
                "a source run and a usable run of one tag",
                vec![
                    run("C", "a", "1T", true, None, true),
                    run("C", "b", "1T", false, None, true),
                ],
                vec![],
            ),
            (
                "two source runs of one tag",
                vec![
                    run("C", "a", "SOURCE", true, None, true),
                    run("C", "b", "SOURCE", true, None, true),
                ],
                vec![vec!["a", "b"]],
            ),
            (
                "different contracts",
                vec![
                    run("C", "a", "1T", false, Some(1), true),
                    run("C", "b", "1T", false, Some(2), true),
                    run("C", "c", "1T", false, None, true),
                ],
                vec![],
            ),
            (
                "one contract",
                vec![
                    run("C", "a", "1T", false, Some(1), true),
                    run("C", "b", "1T", false, Some(1), true),
                ],
                vec![vec!["a", "b"]],
            ),
            (
                "two groups, ordered by course then tag",
                vec![
                    run("D", "d1", "1T", false, None, true),
                    run("D", "d2", "1T", false, None, true),
                    run("C", "c2", "2T", false, None, true),
                    run("C", "c1", "2T", false, None, true),
                ],
                vec![vec!["c1", "c2"], vec!["d1", "d2"]],
            ),
        ];
        for (case, runs, expected) in cases {
            let got: Vec<Vec<String>> = primary_language_conflicts(&runs)
                .into_iter()
                .map(|c| c.runs)
                .collect();
            assert_eq!(got, expected, "{case}");
        }
    }

    #[test]
    fn the_message_names_the_runs_and_the_group() {
        let conflicts = primary_language_conflicts(&[
            run(
                "course-v1:MITx+1x",
                "course-v1:MITx+1x+1T",
                "1T",
                false,
                None,
                true,
            ),
            run(
                "course-v1:MITx+1x",
                "course-v1:MITx+1x+1T_fr",
                "1T",
                false,
                None,
                true,
            ),
            run("course-v1:MITx+1x", "s1", "SOURCE", true, Some(7), true),
            run("course-v1:MITx+1x", "s2", "SOURCE", true, Some(7), true),
        ]);
        let text: Vec<String> = conflicts.iter().map(ToString::to_string).collect();
        assert_eq!(
            text[0],
            "runs course-v1:MITx+1x+1T and course-v1:MITx+1x+1T_fr are all marked as the \
             primary-language run of course course-v1:MITx+1x run tag 1T; at most one may be \
             (set \"is_primary_language\": false on the other language runs)"
        );
        assert!(
            text[1].contains("run tag SOURCE (source runs) (B2B contract 7);"),
            "{}",
            text[1]
        );
    }
}
