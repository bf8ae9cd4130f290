//! `load_country_income_thresholds` over already-split CSV rows (pricing-and-b2b spec
//! 4.2). The command upserts each parsed row by country code and never deletes rows.

use serde::{Deserialize, Serialize};

/// The header names the CSV must contain, checked in this order.
pub const INCOME_THRESHOLD_COLUMNS: [&str; 2] = ["country", "income"];

/// One country's threshold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountryIncomeThreshold {
    /// ISO 3166 alpha-2 code.
    pub country_code: String,
    /// USD per year.
    pub income_threshold: u32,
}

/// Why the thresholds file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdCsvError {
    /// Empty file (no header row).
    #[error("Unable to find the header row")]
    NoHeader,
    /// A required column is missing from the header.
    #[error("Unable to find column header {0}")]
    MissingColumn(&'static str),
    /// An income that is not a non-negative whole number (the original failed on save).
    #[error("Income '{value}' for country {country} is not a whole number of dollars.")]
    BadIncome {
        /// The row's country.
        country: String,
        /// The refused text.
        value: String,
    },
}

/// Parses the rows of the CSV (first row = header, as a dict reader reads it; blank rows
/// skipped). A missing cell reads as empty.
pub fn parse_income_thresholds(
    rows: &[Vec<String>],
) -> Result<Vec<CountryIncomeThreshold>, ThresholdCsvError> {
    let header = rows
        .first()
        .filter(|h| !h.is_empty())
        .ok_or(ThresholdCsvError::NoHeader)?;
    let mut columns = [0usize; 2];
    for (slot, name) in columns.iter_mut().zip(INCOME_THRESHOLD_COLUMNS) {
        *slot = header
            .iter()
            .position(|h| h == name)
            .ok_or(ThresholdCsvError::MissingColumn(name))?;
    }
    let [country_col, income_col] = columns;
    rows[1..]
        .iter()
        .filter(|row| !row.is_empty())
        .map(|row| {
            let cell = |i: usize| row.get(i).map_or("", String::as_str);
            let country = cell(country_col).to_owned();
            let value = cell(income_col);
            let income_threshold =
                value
                    .trim()
                    .parse()
                    .map_err(|_| ThresholdCsvError::BadIncome {
                        country: country.clone(),
                        value: value.to_owned(),
                    })?;
            Ok(CountryIncomeThreshold {
                country_code: country,
                income_threshold,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<Vec<String>> {
        text.lines()
            .map(|l| {
                if l.is_empty() {
                    Vec::new()
                } else {
                    l.split(',').map(str::to_owned).collect()
                }
            })
            .collect()
    }

    #[test]
    fn header_rules() {
        assert_eq!(
            parse_income_thresholds(&[]).unwrap_err().to_string(),
            "Unable to find the header row"
        );
        assert_eq!(
            parse_income_thresholds(&rows("country\nPK"))
                .unwrap_err()
                .to_string(),
            "Unable to find column header income"
        );
        assert_eq!(
            parse_income_thresholds(&rows("income\n1"))
                .unwrap_err()
                .to_string(),
            "Unable to find column header country"
        );
    }

    #[test]
    fn parses_rows_in_any_column_order() {
        let got = parse_income_thresholds(&rows("income,country\n25000,PK\n\n75000,US")).unwrap();
        assert_eq!(
            got,
            vec![
                CountryIncomeThreshold {
                    country_code: "PK".into(),
                    income_threshold: 25000
                },
                CountryIncomeThreshold {
                    country_code: "US".into(),
                    income_threshold: 75000
                },
            ]
        );
        assert!(matches!(
            parse_income_thresholds(&rows("country,income\nPK,lots")),
            Err(ThresholdCsvError::BadIncome { .. })
        ));
    }
}
