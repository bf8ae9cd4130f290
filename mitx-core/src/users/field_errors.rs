//! Per-field validation messages, shaped like the REST validation bodies of the original
//! (`{"field": ["message"], "nested": {"field": ["message"]}}`), plus the generic field
//! rules (required, blank, length, choice) whose texts are the framework's exact ones.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// The key object-level messages are stored under.
pub const NON_FIELD_ERRORS: &str = "non_field_errors";

/// A generic rule broken by one field value. The texts are the exact messages the original's
/// REST framework returns, which clients display verbatim.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FieldRuleError {
    /// The field is absent (or null where null is not allowed).
    #[error("This field is required.")]
    Required,
    /// The field is empty after trimming.
    #[error("This field may not be blank.")]
    Blank,
    /// The field has more characters than allowed.
    #[error("Ensure this field has no more than {0} characters.")]
    TooLong(usize),
    /// The field has fewer characters than required.
    #[error("Ensure this field has at least {0} characters.")]
    TooShort(usize),
    /// The value is not one of the allowed choices.
    #[error("\"{0}\" is not a valid choice.")]
    InvalidChoice(String),
}

/// The messages of one field: a list, or the field errors of a nested object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FieldError {
    /// Messages about the field itself.
    Messages(Vec<String>),
    /// Errors of the fields of a nested object (e.g. `legal_address`).
    Nested(FieldErrors),
}

/// Validation messages keyed by field name, serialized as the original's error bodies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<String, FieldError>);

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no field has an error.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds a message to a field (a nested entry under the same name is replaced, which never
    /// happens in practice: a field is either an object or a scalar).
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        let entry = self
            .0
            .entry(field.to_owned())
            .or_insert_with(|| FieldError::Messages(Vec::new()));
        match entry {
            FieldError::Messages(messages) => messages.push(message.into()),
            FieldError::Nested(_) => *entry = FieldError::Messages(vec![message.into()]),
        }
    }

    /// Stores the errors of a nested object under `field` (nothing when they are empty).
    pub fn nest(&mut self, field: &str, errors: FieldErrors) {
        if !errors.is_empty() {
            self.0.insert(field.to_owned(), FieldError::Nested(errors));
        }
    }

    /// The plain messages of a field (empty when none or nested).
    pub fn messages(&self, field: &str) -> &[String] {
        match self.0.get(field) {
            Some(FieldError::Messages(messages)) => messages,
            _ => &[],
        }
    }

    /// The nested errors of a field, if it holds an object's errors.
    pub fn nested(&self, field: &str) -> Option<&FieldErrors> {
        match self.0.get(field) {
            Some(FieldError::Nested(errors)) => Some(errors),
            _ => None,
        }
    }

    /// The field names that have errors, in order.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// `Ok(value)` when there are no errors, else `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (field, error) in &self.0 {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            match error {
                FieldError::Messages(messages) => write!(f, "{field}: {}", messages.join(" "))?,
                FieldError::Nested(nested) => write!(f, "{field}: {{{nested}}}")?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}

/// A text field as sent: trimmed (the original trims every text input), `None` when absent.
pub(crate) fn trimmed(value: Option<&str>) -> Option<&str> {
    value.map(str::trim)
}

/// Checks an optional text field: absent stays absent, otherwise trimmed and at most `max`
/// characters (counted as Unicode scalar values, as Python counts them).
pub(crate) fn optional_text(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Option<String> {
    let value = trimmed(value)?;
    if value.chars().count() > max {
        errors.add(field, FieldRuleError::TooLong(max).to_string());
        return None;
    }
    Some(value.to_owned())
}

/// Checks a required, non-blank text field of at most `max` characters.
pub(crate) fn required_text(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Option<String> {
    match trimmed(value) {
        None => {
            errors.add(field, FieldRuleError::Required.to_string());
            None
        }
        Some("") => {
            errors.add(field, FieldRuleError::Blank.to_string());
            None
        }
        Some(_) => optional_text(errors, field, value, max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_nesting() {
        let mut inner = FieldErrors::new();
        inner.add("state", "Invalid state specified");
        let mut outer = FieldErrors::new();
        outer.nest("legal_address", inner.clone());
        outer.nest("user_profile", FieldErrors::new());
        outer.add("name", FieldRuleError::TooLong(255).to_string());
        assert_eq!(outer.nested("legal_address"), Some(&inner));
        assert_eq!(outer.nested("user_profile"), None);
        assert_eq!(
            outer.messages("name"),
            ["Ensure this field has no more than 255 characters."]
        );
        assert_eq!(
            outer.fields().collect::<Vec<_>>(),
            ["legal_address", "name"]
        );
        assert_eq!(
            outer.to_string(),
            "legal_address: {state: Invalid state specified}; name: Ensure this field has no more than 255 characters."
        );
    }

    #[test]
    fn text_rules() {
        let table: &[(Option<&str>, Option<&str>, Option<&str>)] = &[
            // (input, required_text result, first error)
            (None, None, Some("This field is required.")),
            (Some("  "), None, Some("This field may not be blank.")),
            (Some(" abc "), Some("abc"), None),
            (
                Some("abcdef"),
                None,
                Some("Ensure this field has no more than 5 characters."),
            ),
            (Some("ééééé"), Some("ééééé"), None),
        ];
        for (input, expected, error) in table {
            let mut errors = FieldErrors::new();
            let got = required_text(&mut errors, "f", *input, 5);
            assert_eq!(got.as_deref(), *expected, "{input:?}");
            assert_eq!(errors.messages("f").first().map(String::as_str), *error);
        }
        let mut errors = FieldErrors::new();
        assert_eq!(optional_text(&mut errors, "f", None, 5), None);
        assert_eq!(
            optional_text(&mut errors, "f", Some(" "), 5).as_deref(),
            Some("")
        );
        assert!(errors.is_empty());
    }
}
