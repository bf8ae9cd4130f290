//! Readable identifiers of the catalog, checked once at the edge.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a catalog identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogIdError {
    #[error("readable id must not be empty")]
    Empty,
    #[error("readable id '{0}' is longer than 255 characters")]
    TooLong(String),
    #[error("readable id '{0}' may only contain letters, digits and the characters _ - + : .")]
    BadCharacters(String),
}

fn check_readable(text: &str) -> Result<(), CatalogIdError> {
    if text.is_empty() {
        return Err(CatalogIdError::Empty);
    }
    if text.chars().count() > 255 {
        return Err(CatalogIdError::TooLong(text.to_owned()));
    }
    // Mirrors the original's `^[\w\-+:.]+$` with Unicode `\w`.
    let ok = text
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | ':' | '.'));
    if !ok {
        return Err(CatalogIdError::BadCharacters(text.to_owned()));
    }
    Ok(())
}

/// The readable id of a course or program (`course-v1:MITx+6.001x`, `program-v1:MITx+DEDP`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReadableId(String);

impl ReadableId {
    /// Checks the character set and length.
    pub fn parse(text: &str) -> Result<Self, CatalogIdError> {
        check_readable(text)?;
        Ok(ReadableId(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Any text id starting with `program-` names a program.
    pub fn is_program_id(&self) -> bool {
        self.0.starts_with("program-")
    }

    /// The text after the last `+` (`6.001x` for `course-v1:MITx+6.001x`).
    pub fn course_number(&self) -> &str {
        last_plus_segment(&self.0)
    }
}

/// The Open edX course key of a course run (`course-v1:MITx+6.001x+1T2026`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CoursewareId(String);

impl CoursewareId {
    /// Checks the character set and length (the same rule as readable ids).
    pub fn parse(text: &str) -> Result<Self, CatalogIdError> {
        check_readable(text)?;
        Ok(CoursewareId(text.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a valid Open edX key: `^course-v1:[^+]+\+[^+]+\+[^+]+$`.
    pub fn is_edx_key(&self) -> bool {
        is_edx_course_key(&self.0)
    }

    /// The last `+` segment (the run part of an edX key).
    pub fn course_number(&self) -> &str {
        last_plus_segment(&self.0)
    }
}

/// Whether `text` matches the Open edX key pattern `^course-v1:[^+]+\+[^+]+\+[^+]+$`.
pub fn is_edx_course_key(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("course-v1:") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('+').collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty())
}

fn last_plus_segment(text: &str) -> &str {
    text.rsplit('+').next().unwrap_or(text)
}

/// Lower-cases and replaces every run of non-alphanumeric characters with `-`
/// (department and organization slugs).
pub fn slugify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut dash = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
            dash = false;
        } else if !dash && !out.is_empty() {
            out.push('-');
            dash = true;
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

macro_rules! text_conversions {
    ($($t:ident),*) => {$(
        impl TryFrom<String> for $t {
            type Error = CatalogIdError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                check_readable(&value)?;
                Ok($t(value))
            }
        }
        impl From<$t> for String {
            fn from(value: $t) -> String {
                value.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    )*};
}
text_conversions!(ReadableId, CoursewareId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn courses_s7_readable_id_charset() {
        for bad in ["some value", "a/b", ""] {
            assert!(ReadableId::parse(bad).is_err(), "{bad:?} must be refused");
        }
        for good in [
            "some+value:1.x",
            "course-v1:MITx+6.001x",
            "program-v1:MITx+DEDP",
            "ÉCOLE_1",
        ] {
            assert!(ReadableId::parse(good).is_ok(), "{good:?} must be accepted");
        }
        assert!(ReadableId::parse(&"a".repeat(256)).is_err());
    }

    #[test]
    fn edx_key_pattern() {
        let cases = [
            ("course-v1:MITx+6.001x+1T2026", true),
            ("course-v1:UAI_ACME+18.01x+1T42C2025_en", true),
            ("course-v1:MITx+6.001x", false),
            ("course-v1:MITx++1T2026", false),
            ("not-a-key", false),
            ("course-v1:a+b+c+d", false),
        ];
        for (key, expected) in cases {
            assert_eq!(is_edx_course_key(key), expected, "{key}");
        }
    }

    #[test]
    fn course_numbers_and_program_ids() {
        let id = ReadableId::parse("course-v1:MITx+6.001x").unwrap();
        assert_eq!(id.course_number(), "6.001x");
        assert!(!id.is_program_id());
        assert!(
            ReadableId::parse("program-v1:MITx+DEDP")
                .unwrap()
                .is_program_id()
        );
        let run = CoursewareId::parse("course-v1:MITx+6.001x+1T2026").unwrap();
        assert_eq!(run.course_number(), "1T2026");
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slugify("Electrical Engineering & CS"),
            "electrical-engineering-cs"
        );
        assert_eq!(slugify("org-Acme University"), "org-acme-university");
        assert_eq!(slugify("  Econ  "), "econ");
    }
}
