//! The edX username chosen when an edX account is created (courses spec 4.3). Randomness
//! (the `_N` suffix) is supplied by the caller, and so is the "is this name taken locally"
//! lookup.

use std::ops::RangeInclusive;

use crate::catalog::slugify;

/// edX usernames are at most 30 characters (`OpenEdxUser.edx_username`).
pub const EDX_USERNAME_MAX_LEN: usize = 30;

/// The `_N` suffix ranges, tried in order, one random pick each: 0–9, 10–99, …,
/// 10000–99999.
pub const SUFFIX_RANGES: [RangeInclusive<u32>; 5] =
    [0..=9, 10..=99, 100..=999, 1000..=9999, 10000..=99999];

/// What the username is derived from.
#[derive(Clone, Copy, Debug, Default)]
pub struct EdxUsernameSource<'a> {
    /// The username already stored for the user's edX account.
    pub existing: Option<&'a str>,
    /// `OpenEdxUser.desired_edx_username`.
    pub desired: Option<&'a str>,
    /// The local username.
    pub username: &'a str,
    pub email: &'a str,
    pub name: &'a str,
}

/// Why no username could be chosen.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EdxUsernameError {
    /// Name, email and usernames all yield an empty username.
    #[error("cannot derive an edX username: name, email and usernames are all empty")]
    Empty,
    /// The base and every suffixed candidate are taken.
    #[error("every edX username derived from '{0}' is already taken")]
    Exhausted(String),
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The base username, in order: the existing edX username; else the desired username with
/// any `@` removed (edX refuses `@`); else the local username unless it is an email
/// address (contains `@` or equals the email); else the slug of the name, or of the email
/// when the name has none. At most 30 characters.
pub fn base_edx_username(source: &EdxUsernameSource<'_>) -> Option<String> {
    let non_empty = |s: String| (!s.is_empty()).then_some(s);
    if let Some(existing) = source.existing.map(str::to_owned).and_then(non_empty) {
        return Some(existing);
    }
    let desired = source
        .desired
        .map(|d| d.replace('@', ""))
        .and_then(non_empty);
    let local = (!source.username.contains('@') && source.username != source.email)
        .then(|| source.username.to_owned())
        .and_then(non_empty);
    let slug = || {
        let slug = non_empty(slugify(source.name)).or_else(|| non_empty(slugify(source.email)))?;
        non_empty(
            truncate(&slug, EDX_USERNAME_MAX_LEN)
                .trim_end_matches('-')
                .to_owned(),
        )
    };
    desired
        .or(local)
        .map(|u| truncate(&u, EDX_USERNAME_MAX_LEN))
        .or_else(slug)
}

/// Chooses the username for a new edX account: the base when it is not taken locally
/// (an existing edX username is always kept), else `{base}_{N}` with `N = pick(range)` for
/// each of [`SUFFIX_RANGES`] in turn, the first free one winning. The base is shortened so
/// the whole name stays within 30 characters.
pub fn choose_edx_username(
    source: &EdxUsernameSource<'_>,
    is_taken: &dyn Fn(&str) -> bool,
    pick: &mut dyn FnMut(RangeInclusive<u32>) -> u32,
) -> Result<String, EdxUsernameError> {
    let base = base_edx_username(source).ok_or(EdxUsernameError::Empty)?;
    let keeps_existing = source.existing.is_some_and(|e| !e.is_empty());
    if keeps_existing || !is_taken(&base) {
        return Ok(base);
    }
    for range in SUFFIX_RANGES {
        let suffix = format!("_{}", pick(range));
        let room = EDX_USERNAME_MAX_LEN.saturating_sub(suffix.chars().count());
        let candidate = format!("{}{suffix}", truncate(&base, room));
        if !is_taken(&candidate) {
            return Ok(candidate);
        }
    }
    Err(EdxUsernameError::Exhausted(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source<'a>(
        desired: Option<&'a str>,
        username: &'a str,
        name: &'a str,
    ) -> EdxUsernameSource<'a> {
        EdxUsernameSource {
            existing: None,
            desired,
            username,
            email: "jane.doe@example.com",
            name,
        }
    }

    #[test]
    fn derivation_order() {
        let mut with_existing = source(Some("wanted"), "jane", "Jane Doe");
        with_existing.existing = Some("already");
        assert_eq!(
            base_edx_username(&with_existing).as_deref(),
            Some("already")
        );
        assert_eq!(
            base_edx_username(&source(Some("wanted"), "jane", "Jane Doe")).as_deref(),
            Some("wanted")
        );
        assert_eq!(
            base_edx_username(&source(Some("ja@ne"), "jane", "Jane Doe")).as_deref(),
            Some("jane")
        );
        assert_eq!(
            base_edx_username(&source(None, "jane", "Jane Doe")).as_deref(),
            Some("jane")
        );
        assert_eq!(
            base_edx_username(&source(None, "jane.doe@example.com", "Jane Doe")).as_deref(),
            Some("jane-doe")
        );
        assert_eq!(
            base_edx_username(&source(Some("@"), "x@y", "")).as_deref(),
            Some("jane-doe-example-com")
        );
        let long = source(None, "x@y", "A Very Long Learner Name That Goes On And On");
        let base = base_edx_username(&long).unwrap();
        assert!(base.chars().count() <= 30, "{base}");
        assert!(!base.ends_with('-'));
        let empty = EdxUsernameSource::default();
        assert_eq!(base_edx_username(&empty), None);
    }

    #[test]
    fn suffix_scheme_tries_each_range_once() {
        let taken = ["José", "José_3", "José_42"];
        let mut asked = Vec::new();
        let picks = [3, 42, 512];
        let chosen = choose_edx_username(
            &source(Some("José"), "jose", ""),
            &|u| taken.contains(&u),
            &mut |range| {
                asked.push(range);
                picks[asked.len() - 1]
            },
        );
        assert_eq!(chosen.as_deref(), Ok("José_512"));
        assert_eq!(asked, vec![0..=9, 10..=99, 100..=999]);
    }

    #[test]
    fn free_base_and_existing_names_get_no_suffix() {
        let mut calls = 0;
        let free = choose_edx_username(&source(None, "jane", ""), &|_| false, &mut |_| {
            calls += 1;
            0
        });
        assert_eq!(free.as_deref(), Ok("jane"));
        let mut existing = source(None, "jane", "");
        existing.existing = Some("mine");
        let kept = choose_edx_username(&existing, &|_| true, &mut |_| {
            calls += 1;
            0
        });
        assert_eq!(kept.as_deref(), Ok("mine"));
        assert_eq!(calls, 0);
    }

    #[test]
    fn suffixed_names_stay_within_thirty_characters() {
        let long = "abcdefghijklmnopqrstuvwxyz0123";
        let chosen =
            choose_edx_username(&source(Some(long), "x@y", ""), &|u| u == long, &mut |_| 7)
                .unwrap();
        assert_eq!(chosen, "abcdefghijklmnopqrstuvwxyz01_7");
        assert_eq!(chosen.chars().count(), 30);
    }

    #[test]
    fn all_taken_is_an_error() {
        let err = choose_edx_username(&source(None, "jane", ""), &|_| true, &mut |r| *r.start())
            .unwrap_err();
        assert_eq!(err, EdxUsernameError::Exhausted("jane".into()));
        assert_eq!(
            choose_edx_username(&EdxUsernameSource::default(), &|_| false, &mut |_| 0),
            Err(EdxUsernameError::Empty)
        );
    }

    mod invariants {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn chosen_names_fit_and_are_free(
                desired in proptest::option::of("[a-zA-Z0-9@_.\\- ]{0,40}"),
                username in "[a-zA-Z0-9@_.]{0,40}",
                name in "\\PC{0,40}",
                taken_base in any::<bool>(),
                pick in 0u32..=99999,
            ) {
                let source = EdxUsernameSource {
                    existing: None,
                    desired: desired.as_deref(),
                    username: &username,
                    email: "learner@example.com",
                    name: &name,
                };
                let base = base_edx_username(&source).unwrap();
                let is_taken = |u: &str| taken_base && u == base;
                let chosen = choose_edx_username(&source, &is_taken, &mut |range| {
                    pick.clamp(*range.start(), *range.end())
                })
                .unwrap();
                prop_assert!(chosen.chars().count() <= EDX_USERNAME_MAX_LEN, "{}", chosen);
                prop_assert!(!chosen.contains('@'));
                prop_assert!(!is_taken(&chosen));
            }
        }
    }
}
