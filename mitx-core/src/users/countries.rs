//! ISO 3166 reference data embedded as static tables: every ISO 3166-1 country (alpha-2
//! code, ISO short name, common name) and the ISO 3166-2 subdivisions of the two countries whose
//! addresses must carry a valid subdivision (US and CA).
//!
//! Generated from the Debian `iso-codes` 4.15.0 JSON files (`iso_3166-1.json`,
//! `iso_3166-2.json`), the same data set `pycountry` ships, so names and codes match what
//! the original served. Do not edit entries by hand; regenerate from a newer `iso-codes` if
//! the standard changes.

use serde::Serialize;

/// A country of ISO 3166-1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Country {
    /// The ISO 3166-1 alpha-2 code, upper case (e.g. `US`).
    pub code: &'static str,
    /// The ISO short name (e.g. `Bolivia, Plurinational State of`); the country list is
    /// ordered by it.
    pub name: &'static str,
    /// The common name where ISO data has one (e.g. `Bolivia`); shown instead of `name`.
    pub common_name: Option<&'static str>,
}

impl Country {
    /// The name shown to users: the common name when one exists, else the ISO short name.
    pub fn display_name(&self) -> &'static str {
        self.common_name.unwrap_or(self.name)
    }
}

/// A first-level subdivision of ISO 3166-2 (a US state, district or outlying area, a
/// Canadian province or territory).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Subdivision {
    /// The full ISO 3166-2 code, country prefix included (e.g. `US-MA`, `CA-QC`).
    pub code: &'static str,
    /// The English name (e.g. `Massachusetts`).
    pub name: &'static str,
}

/// The countries whose addresses must name a valid ISO 3166-2 subdivision when a state is
/// given (integrations spec 4.2); every other country accepts any state text.
pub const COUNTRIES_WITH_CHECKED_STATES: [&str; 2] = ["US", "CA"];

/// The country with this alpha-2 code (exact, upper case), if ISO 3166-1 knows it.
pub fn country(code: &str) -> Option<&'static Country> {
    COUNTRIES
        .binary_search_by(|c| c.code.cmp(code))
        .ok()
        .and_then(|i| COUNTRIES.get(i))
}

/// The embedded subdivisions of a country: the US and CA lists, empty for every other
/// country (the original only ever lists or checks subdivisions for those two).
pub fn subdivisions(country_code: &str) -> &'static [Subdivision] {
    match country_code {
        "US" => &US_SUBDIVISIONS,
        "CA" => &CA_SUBDIVISIONS,
        _ => &[],
    }
}

/// The subdivision with this full ISO 3166-2 code (e.g. `US-MA`) among the embedded ones.
pub fn subdivision(code: &str) -> Option<&'static Subdivision> {
    let (country_code, _) = code.split_once('-')?;
    let list = subdivisions(country_code);
    list.binary_search_by(|s| s.code.cmp(code))
        .ok()
        .and_then(|i| list.get(i))
}

/// One entry of the public country list (`GET /api/v0/countries/`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CountryListing {
    /// The alpha-2 code.
    pub code: &'static str,
    /// The display name (common name when one exists).
    pub name: &'static str,
    /// The subdivisions ordered by name, only for US and CA; empty otherwise.
    pub states: Vec<Subdivision>,
}

/// The public country list: every ISO country ordered by its ISO short name (plain
/// code-point order, as Python sorts strings, so `Åland Islands` comes last), shown under its
/// common name, with the US and CA subdivisions ordered by name.
pub fn country_listing() -> Vec<CountryListing> {
    let mut countries: Vec<&Country> = COUNTRIES.iter().collect();
    countries.sort_by(|a, b| a.name.cmp(b.name));
    countries
        .into_iter()
        .map(|c| {
            let mut states = subdivisions(c.code).to_vec();
            states.sort_by(|a, b| a.name.cmp(b.name));
            CountryListing {
                code: c.code,
                name: c.display_name(),
                states,
            }
        })
        .collect()
}

/// Every ISO 3166-1 country, sorted by alpha-2 code (binary-searchable).
pub static COUNTRIES: [Country; 249] = [
    Country {
        code: "AD",
        name: "Andorra",
        common_name: None,
    },
    Country {
        code: "AE",
        name: "United Arab Emirates",
        common_name: None,
    },
    Country {
        code: "AF",
        name: "Afghanistan",
        common_name: None,
    },
    Country {
        code: "AG",
        name: "Antigua and Barbuda",
        common_name: None,
    },
    Country {
        code: "AI",
        name: "Anguilla",
        common_name: None,
    },
    Country {
        code: "AL",
        name: "Albania",
        common_name: None,
    },
    Country {
        code: "AM",
        name: "Armenia",
        common_name: None,
    },
    Country {
        code: "AO",
        name: "Angola",
        common_name: None,
    },
    Country {
        code: "AQ",
        name: "Antarctica",
        common_name: None,
    },
    Country {
        code: "AR",
        name: "Argentina",
        common_name: None,
    },
    Country {
        code: "AS",
        name: "American Samoa",
        common_name: None,
    },
    Country {
        code: "AT",
        name: "Austria",
        common_name: None,
    },
    Country {
        code: "AU",
        name: "Australia",
        common_name: None,
    },
    Country {
        code: "AW",
        name: "Aruba",
        common_name: None,
    },
    Country {
        code: "AX",
        name: "Åland Islands",
        common_name: None,
    },
    Country {
        code: "AZ",
        name: "Azerbaijan",
        common_name: None,
    },
    Country {
        code: "BA",
        name: "Bosnia and Herzegovina",
        common_name: None,
    },
    Country {
        code: "BB",
        name: "Barbados",
        common_name: None,
    },
    Country {
        code: "BD",
        name: "Bangladesh",
        common_name: None,
    },
    Country {
        code: "BE",
        name: "Belgium",
        common_name: None,
    },
    Country {
        code: "BF",
        name: "Burkina Faso",
        common_name: None,
    },
    Country {
        code: "BG",
        name: "Bulgaria",
        common_name: None,
    },
    Country {
        code: "BH",
        name: "Bahrain",
        common_name: None,
    },
    Country {
        code: "BI",
        name: "Burundi",
        common_name: None,
    },
    Country {
        code: "BJ",
        name: "Benin",
        common_name: None,
    },
    Country {
        code: "BL",
        name: "Saint Barthélemy",
        common_name: None,
    },
    Country {
        code: "BM",
        name: "Bermuda",
        common_name: None,
    },
    Country {
        code: "BN",
        name: "Brunei Darussalam",
        common_name: None,
    },
    Country {
        code: "BO",
        name: "Bolivia, Plurinational State of",
        common_name: Some("Bolivia"),
    },
    Country {
        code: "BQ",
        name: "Bonaire, Sint Eustatius and Saba",
        common_name: None,
    },
    Country {
        code: "BR",
        name: "Brazil",
        common_name: None,
    },
    Country {
        code: "BS",
        name: "Bahamas",
        common_name: None,
    },
    Country {
        code: "BT",
        name: "Bhutan",
        common_name: None,
    },
    Country {
        code: "BV",
        name: "Bouvet Island",
        common_name: None,
    },
    Country {
        code: "BW",
        name: "Botswana",
        common_name: None,
    },
    Country {
        code: "BY",
        name: "Belarus",
        common_name: None,
    },
    Country {
        code: "BZ",
        name: "Belize",
        common_name: None,
    },
    Country {
        code: "CA",
        name: "Canada",
        common_name: None,
    },
    Country {
        code: "CC",
        name: "Cocos (Keeling) Islands",
        common_name: None,
    },
    Country {
        code: "CD",
        name: "Congo, The Democratic Republic of the",
        common_name: None,
    },
    Country {
        code: "CF",
        name: "Central African Republic",
        common_name: None,
    },
    Country {
        code: "CG",
        name: "Congo",
        common_name: None,
    },
    Country {
        code: "CH",
        name: "Switzerland",
        common_name: None,
    },
    Country {
        code: "CI",
        name: "Côte d'Ivoire",
        common_name: None,
    },
    Country {
        code: "CK",
        name: "Cook Islands",
        common_name: None,
    },
    Country {
        code: "CL",
        name: "Chile",
        common_name: None,
    },
    Country {
        code: "CM",
        name: "Cameroon",
        common_name: None,
    },
    Country {
        code: "CN",
        name: "China",
        common_name: None,
    },
    Country {
        code: "CO",
        name: "Colombia",
        common_name: None,
    },
    Country {
        code: "CR",
        name: "Costa Rica",
        common_name: None,
    },
    Country {
        code: "CU",
        name: "Cuba",
        common_name: None,
    },
    Country {
        code: "CV",
        name: "Cabo Verde",
        common_name: None,
    },
    Country {
        code: "CW",
        name: "Curaçao",
        common_name: None,
    },
    Country {
        code: "CX",
        name: "Christmas Island",
        common_name: None,
    },
    Country {
        code: "CY",
        name: "Cyprus",
        common_name: None,
    },
    Country {
        code: "CZ",
        name: "Czechia",
        common_name: None,
    },
    Country {
        code: "DE",
        name: "Germany",
        common_name: None,
    },
    Country {
        code: "DJ",
        name: "Djibouti",
        common_name: None,
    },
    Country {
        code: "DK",
        name: "Denmark",
        common_name: None,
    },
    Country {
        code: "DM",
        name: "Dominica",
        common_name: None,
    },
    Country {
        code: "DO",
        name: "Dominican Republic",
        common_name: None,
    },
    Country {
        code: "DZ",
        name: "Algeria",
        common_name: None,
    },
    Country {
        code: "EC",
        name: "Ecuador",
        common_name: None,
    },
    Country {
        code: "EE",
        name: "Estonia",
        common_name: None,
    },
    Country {
        code: "EG",
        name: "Egypt",
        common_name: None,
    },
    Country {
        code: "EH",
        name: "Western Sahara",
        common_name: None,
    },
    Country {
        code: "ER",
        name: "Eritrea",
        common_name: None,
    },
    Country {
        code: "ES",
        name: "Spain",
        common_name: None,
    },
    Country {
        code: "ET",
        name: "Ethiopia",
        common_name: None,
    },
    Country {
        code: "FI",
        name: "Finland",
        common_name: None,
    },
    Country {
        code: "FJ",
        name: "Fiji",
        common_name: None,
    },
    Country {
        code: "FK",
        name: "Falkland Islands (Malvinas)",
        common_name: None,
    },
    Country {
        code: "FM",
        name: "Micronesia, Federated States of",
        common_name: None,
    },
    Country {
        code: "FO",
        name: "Faroe Islands",
        common_name: None,
    },
    Country {
        code: "FR",
        name: "France",
        common_name: None,
    },
    Country {
        code: "GA",
        name: "Gabon",
        common_name: None,
    },
    Country {
        code: "GB",
        name: "United Kingdom",
        common_name: None,
    },
    Country {
        code: "GD",
        name: "Grenada",
        common_name: None,
    },
    Country {
        code: "GE",
        name: "Georgia",
        common_name: None,
    },
    Country {
        code: "GF",
        name: "French Guiana",
        common_name: None,
    },
    Country {
        code: "GG",
        name: "Guernsey",
        common_name: None,
    },
    Country {
        code: "GH",
        name: "Ghana",
        common_name: None,
    },
    Country {
        code: "GI",
        name: "Gibraltar",
        common_name: None,
    },
    Country {
        code: "GL",
        name: "Greenland",
        common_name: None,
    },
    Country {
        code: "GM",
        name: "Gambia",
        common_name: None,
    },
    Country {
        code: "GN",
        name: "Guinea",
        common_name: None,
    },
    Country {
        code: "GP",
        name: "Guadeloupe",
        common_name: None,
    },
    Country {
        code: "GQ",
        name: "Equatorial Guinea",
        common_name: None,
    },
    Country {
        code: "GR",
        name: "Greece",
        common_name: None,
    },
    Country {
        code: "GS",
        name: "South Georgia and the South Sandwich Islands",
        common_name: None,
    },
    Country {
        code: "GT",
        name: "Guatemala",
        common_name: None,
    },
    Country {
        code: "GU",
        name: "Guam",
        common_name: None,
    },
    Country {
        code: "GW",
        name: "Guinea-Bissau",
        common_name: None,
    },
    Country {
        code: "GY",
        name: "Guyana",
        common_name: None,
    },
    Country {
        code: "HK",
        name: "Hong Kong",
        common_name: None,
    },
    Country {
        code: "HM",
        name: "Heard Island and McDonald Islands",
        common_name: None,
    },
    Country {
        code: "HN",
        name: "Honduras",
        common_name: None,
    },
    Country {
        code: "HR",
        name: "Croatia",
        common_name: None,
    },
    Country {
        code: "HT",
        name: "Haiti",
        common_name: None,
    },
    Country {
        code: "HU",
        name: "Hungary",
        common_name: None,
    },
    Country {
        code: "ID",
        name: "Indonesia",
        common_name: None,
    },
    Country {
        code: "IE",
        name: "Ireland",
        common_name: None,
    },
    Country {
        code: "IL",
        name: "Israel",
        common_name: None,
    },
    Country {
        code: "IM",
        name: "Isle of Man",
        common_name: None,
    },
    Country {
        code: "IN",
        name: "India",
        common_name: None,
    },
    Country {
        code: "IO",
        name: "British Indian Ocean Territory",
        common_name: None,
    },
    Country {
        code: "IQ",
        name: "Iraq",
        common_name: None,
    },
    Country {
        code: "IR",
        name: "Iran, Islamic Republic of",
        common_name: Some("Iran"),
    },
    Country {
        code: "IS",
        name: "Iceland",
        common_name: None,
    },
    Country {
        code: "IT",
        name: "Italy",
        common_name: None,
    },
    Country {
        code: "JE",
        name: "Jersey",
        common_name: None,
    },
    Country {
        code: "JM",
        name: "Jamaica",
        common_name: None,
    },
    Country {
        code: "JO",
        name: "Jordan",
        common_name: None,
    },
    Country {
        code: "JP",
        name: "Japan",
        common_name: None,
    },
    Country {
        code: "KE",
        name: "Kenya",
        common_name: None,
    },
    Country {
        code: "KG",
        name: "Kyrgyzstan",
        common_name: None,
    },
    Country {
        code: "KH",
        name: "Cambodia",
        common_name: None,
    },
    Country {
        code: "KI",
        name: "Kiribati",
        common_name: None,
    },
    Country {
        code: "KM",
        name: "Comoros",
        common_name: None,
    },
    Country {
        code: "KN",
        name: "Saint Kitts and Nevis",
        common_name: None,
    },
    Country {
        code: "KP",
        name: "Korea, Democratic People's Republic of",
        common_name: Some("North Korea"),
    },
    Country {
        code: "KR",
        name: "Korea, Republic of",
        common_name: Some("South Korea"),
    },
    Country {
        code: "KW",
        name: "Kuwait",
        common_name: None,
    },
    Country {
        code: "KY",
        name: "Cayman Islands",
        common_name: None,
    },
    Country {
        code: "KZ",
        name: "Kazakhstan",
        common_name: None,
    },
    Country {
        code: "LA",
        name: "Lao People's Democratic Republic",
        common_name: Some("Laos"),
    },
    Country {
        code: "LB",
        name: "Lebanon",
        common_name: None,
    },
    Country {
        code: "LC",
        name: "Saint Lucia",
        common_name: None,
    },
    Country {
        code: "LI",
        name: "Liechtenstein",
        common_name: None,
    },
    Country {
        code: "LK",
        name: "Sri Lanka",
        common_name: None,
    },
    Country {
        code: "LR",
        name: "Liberia",
        common_name: None,
    },
    Country {
        code: "LS",
        name: "Lesotho",
        common_name: None,
    },
    Country {
        code: "LT",
        name: "Lithuania",
        common_name: None,
    },
    Country {
        code: "LU",
        name: "Luxembourg",
        common_name: None,
    },
    Country {
        code: "LV",
        name: "Latvia",
        common_name: None,
    },
    Country {
        code: "LY",
        name: "Libya",
        common_name: None,
    },
    Country {
        code: "MA",
        name: "Morocco",
        common_name: None,
    },
    Country {
        code: "MC",
        name: "Monaco",
        common_name: None,
    },
    Country {
        code: "MD",
        name: "Moldova, Republic of",
        common_name: Some("Moldova"),
    },
    Country {
        code: "ME",
        name: "Montenegro",
        common_name: None,
    },
    Country {
        code: "MF",
        name: "Saint Martin (French part)",
        common_name: None,
    },
    Country {
        code: "MG",
        name: "Madagascar",
        common_name: None,
    },
    Country {
        code: "MH",
        name: "Marshall Islands",
        common_name: None,
    },
    Country {
        code: "MK",
        name: "North Macedonia",
        common_name: None,
    },
    Country {
        code: "ML",
        name: "Mali",
        common_name: None,
    },
    Country {
        code: "MM",
        name: "Myanmar",
        common_name: None,
    },
    Country {
        code: "MN",
        name: "Mongolia",
        common_name: None,
    },
    Country {
        code: "MO",
        name: "Macao",
        common_name: None,
    },
    Country {
        code: "MP",
        name: "Northern Mariana Islands",
        common_name: None,
    },
    Country {
        code: "MQ",
        name: "Martinique",
        common_name: None,
    },
    Country {
        code: "MR",
        name: "Mauritania",
        common_name: None,
    },
    Country {
        code: "MS",
        name: "Montserrat",
        common_name: None,
    },
    Country {
        code: "MT",
        name: "Malta",
        common_name: None,
    },
    Country {
        code: "MU",
        name: "Mauritius",
        common_name: None,
    },
    Country {
        code: "MV",
        name: "Maldives",
        common_name: None,
    },
    Country {
        code: "MW",
        name: "Malawi",
        common_name: None,
    },
    Country {
        code: "MX",
        name: "Mexico",
        common_name: None,
    },
    Country {
        code: "MY",
        name: "Malaysia",
        common_name: None,
    },
    Country {
        code: "MZ",
        name: "Mozambique",
        common_name: None,
    },
    Country {
        code: "NA",
        name: "Namibia",
        common_name: None,
    },
    Country {
        code: "NC",
        name: "New Caledonia",
        common_name: None,
    },
    Country {
        code: "NE",
        name: "Niger",
        common_name: None,
    },
    Country {
        code: "NF",
        name: "Norfolk Island",
        common_name: None,
    },
    Country {
        code: "NG",
        name: "Nigeria",
        common_name: None,
    },
    Country {
        code: "NI",
        name: "Nicaragua",
        common_name: None,
    },
    Country {
        code: "NL",
        name: "Netherlands",
        common_name: None,
    },
    Country {
        code: "NO",
        name: "Norway",
        common_name: None,
    },
    Country {
        code: "NP",
        name: "Nepal",
        common_name: None,
    },
    Country {
        code: "NR",
        name: "Nauru",
        common_name: None,
    },
    Country {
        code: "NU",
        name: "Niue",
        common_name: None,
    },
    Country {
        code: "NZ",
        name: "New Zealand",
        common_name: None,
    },
    Country {
        code: "OM",
        name: "Oman",
        common_name: None,
    },
    Country {
        code: "PA",
        name: "Panama",
        common_name: None,
    },
    Country {
        code: "PE",
        name: "Peru",
        common_name: None,
    },
    Country {
        code: "PF",
        name: "French Polynesia",
        common_name: None,
    },
    Country {
        code: "PG",
        name: "Papua New Guinea",
        common_name: None,
    },
    Country {
        code: "PH",
        name: "Philippines",
        common_name: None,
    },
    Country {
        code: "PK",
        name: "Pakistan",
        common_name: None,
    },
    Country {
        code: "PL",
        name: "Poland",
        common_name: None,
    },
    Country {
        code: "PM",
        name: "Saint Pierre and Miquelon",
        common_name: None,
    },
    Country {
        code: "PN",
        name: "Pitcairn",
        common_name: None,
    },
    Country {
        code: "PR",
        name: "Puerto Rico",
        common_name: None,
    },
    Country {
        code: "PS",
        name: "Palestine, State of",
        common_name: None,
    },
    Country {
        code: "PT",
        name: "Portugal",
        common_name: None,
    },
    Country {
        code: "PW",
        name: "Palau",
        common_name: None,
    },
    Country {
        code: "PY",
        name: "Paraguay",
        common_name: None,
    },
    Country {
        code: "QA",
        name: "Qatar",
        common_name: None,
    },
    Country {
        code: "RE",
        name: "Réunion",
        common_name: None,
    },
    Country {
        code: "RO",
        name: "Romania",
        common_name: None,
    },
    Country {
        code: "RS",
        name: "Serbia",
        common_name: None,
    },
    Country {
        code: "RU",
        name: "Russian Federation",
        common_name: None,
    },
    Country {
        code: "RW",
        name: "Rwanda",
        common_name: None,
    },
    Country {
        code: "SA",
        name: "Saudi Arabia",
        common_name: None,
    },
    Country {
        code: "SB",
        name: "Solomon Islands",
        common_name: None,
    },
    Country {
        code: "SC",
        name: "Seychelles",
        common_name: None,
    },
    Country {
        code: "SD",
        name: "Sudan",
        common_name: None,
    },
    Country {
        code: "SE",
        name: "Sweden",
        common_name: None,
    },
    Country {
        code: "SG",
        name: "Singapore",
        common_name: None,
    },
    Country {
        code: "SH",
        name: "Saint Helena, Ascension and Tristan da Cunha",
        common_name: None,
    },
    Country {
        code: "SI",
        name: "Slovenia",
        common_name: None,
    },
    Country {
        code: "SJ",
        name: "Svalbard and Jan Mayen",
        common_name: None,
    },
    Country {
        code: "SK",
        name: "Slovakia",
        common_name: None,
    },
    Country {
        code: "SL",
        name: "Sierra Leone",
        common_name: None,
    },
    Country {
        code: "SM",
        name: "San Marino",
        common_name: None,
    },
    Country {
        code: "SN",
        name: "Senegal",
        common_name: None,
    },
    Country {
        code: "SO",
        name: "Somalia",
        common_name: None,
    },
    Country {
        code: "SR",
        name: "Suriname",
        common_name: None,
    },
    Country {
        code: "SS",
        name: "South Sudan",
        common_name: None,
    },
    Country {
        code: "ST",
        name: "Sao Tome and Principe",
        common_name: None,
    },
    Country {
        code: "SV",
        name: "El Salvador",
        common_name: None,
    },
    Country {
        code: "SX",
        name: "Sint Maarten (Dutch part)",
        common_name: None,
    },
    Country {
        code: "SY",
        name: "Syrian Arab Republic",
        common_name: Some("Syria"),
    },
    Country {
        code: "SZ",
        name: "Eswatini",
        common_name: None,
    },
    Country {
        code: "TC",
        name: "Turks and Caicos Islands",
        common_name: None,
    },
    Country {
        code: "TD",
        name: "Chad",
        common_name: None,
    },
    Country {
        code: "TF",
        name: "French Southern Territories",
        common_name: None,
    },
    Country {
        code: "TG",
        name: "Togo",
        common_name: None,
    },
    Country {
        code: "TH",
        name: "Thailand",
        common_name: None,
    },
    Country {
        code: "TJ",
        name: "Tajikistan",
        common_name: None,
    },
    Country {
        code: "TK",
        name: "Tokelau",
        common_name: None,
    },
    Country {
        code: "TL",
        name: "Timor-Leste",
        common_name: None,
    },
    Country {
        code: "TM",
        name: "Turkmenistan",
        common_name: None,
    },
    Country {
        code: "TN",
        name: "Tunisia",
        common_name: None,
    },
    Country {
        code: "TO",
        name: "Tonga",
        common_name: None,
    },
    Country {
        code: "TR",
        name: "Türkiye",
        common_name: None,
    },
    Country {
        code: "TT",
        name: "Trinidad and Tobago",
        common_name: None,
    },
    Country {
        code: "TV",
        name: "Tuvalu",
        common_name: None,
    },
    Country {
        code: "TW",
        name: "Taiwan, Province of China",
        common_name: Some("Taiwan"),
    },
    Country {
        code: "TZ",
        name: "Tanzania, United Republic of",
        common_name: Some("Tanzania"),
    },
    Country {
        code: "UA",
        name: "Ukraine",
        common_name: None,
    },
    Country {
        code: "UG",
        name: "Uganda",
        common_name: None,
    },
    Country {
        code: "UM",
        name: "United States Minor Outlying Islands",
        common_name: None,
    },
    Country {
        code: "US",
        name: "United States",
        common_name: None,
    },
    Country {
        code: "UY",
        name: "Uruguay",
        common_name: None,
    },
    Country {
        code: "UZ",
        name: "Uzbekistan",
        common_name: None,
    },
    Country {
        code: "VA",
        name: "Holy See (Vatican City State)",
        common_name: None,
    },
    Country {
        code: "VC",
        name: "Saint Vincent and the Grenadines",
        common_name: None,
    },
    Country {
        code: "VE",
        name: "Venezuela, Bolivarian Republic of",
        common_name: Some("Venezuela"),
    },
    Country {
        code: "VG",
        name: "Virgin Islands, British",
        common_name: None,
    },
    Country {
        code: "VI",
        name: "Virgin Islands, U.S.",
        common_name: None,
    },
    Country {
        code: "VN",
        name: "Viet Nam",
        common_name: Some("Vietnam"),
    },
    Country {
        code: "VU",
        name: "Vanuatu",
        common_name: None,
    },
    Country {
        code: "WF",
        name: "Wallis and Futuna",
        common_name: None,
    },
    Country {
        code: "WS",
        name: "Samoa",
        common_name: None,
    },
    Country {
        code: "YE",
        name: "Yemen",
        common_name: None,
    },
    Country {
        code: "YT",
        name: "Mayotte",
        common_name: None,
    },
    Country {
        code: "ZA",
        name: "South Africa",
        common_name: None,
    },
    Country {
        code: "ZM",
        name: "Zambia",
        common_name: None,
    },
    Country {
        code: "ZW",
        name: "Zimbabwe",
        common_name: None,
    },
];

/// The ISO 3166-2 subdivisions of the United States: 50 states, the District of Columbia and 6 outlying areas, sorted by code.
pub static US_SUBDIVISIONS: [Subdivision; 57] = [
    Subdivision {
        code: "US-AK",
        name: "Alaska",
    },
    Subdivision {
        code: "US-AL",
        name: "Alabama",
    },
    Subdivision {
        code: "US-AR",
        name: "Arkansas",
    },
    Subdivision {
        code: "US-AS",
        name: "American Samoa",
    },
    Subdivision {
        code: "US-AZ",
        name: "Arizona",
    },
    Subdivision {
        code: "US-CA",
        name: "California",
    },
    Subdivision {
        code: "US-CO",
        name: "Colorado",
    },
    Subdivision {
        code: "US-CT",
        name: "Connecticut",
    },
    Subdivision {
        code: "US-DC",
        name: "District of Columbia",
    },
    Subdivision {
        code: "US-DE",
        name: "Delaware",
    },
    Subdivision {
        code: "US-FL",
        name: "Florida",
    },
    Subdivision {
        code: "US-GA",
        name: "Georgia",
    },
    Subdivision {
        code: "US-GU",
        name: "Guam",
    },
    Subdivision {
        code: "US-HI",
        name: "Hawaii",
    },
    Subdivision {
        code: "US-IA",
        name: "Iowa",
    },
    Subdivision {
        code: "US-ID",
        name: "Idaho",
    },
    Subdivision {
        code: "US-IL",
        name: "Illinois",
    },
    Subdivision {
        code: "US-IN",
        name: "Indiana",
    },
    Subdivision {
        code: "US-KS",
        name: "Kansas",
    },
    Subdivision {
        code: "US-KY",
        name: "Kentucky",
    },
    Subdivision {
        code: "US-LA",
        name: "Louisiana",
    },
    Subdivision {
        code: "US-MA",
        name: "Massachusetts",
    },
    Subdivision {
        code: "US-MD",
        name: "Maryland",
    },
    Subdivision {
        code: "US-ME",
        name: "Maine",
    },
    Subdivision {
        code: "US-MI",
        name: "Michigan",
    },
    Subdivision {
        code: "US-MN",
        name: "Minnesota",
    },
    Subdivision {
        code: "US-MO",
        name: "Missouri",
    },
    Subdivision {
        code: "US-MP",
        name: "Northern Mariana Islands",
    },
    Subdivision {
        code: "US-MS",
        name: "Mississippi",
    },
    Subdivision {
        code: "US-MT",
        name: "Montana",
    },
    Subdivision {
        code: "US-NC",
        name: "North Carolina",
    },
    Subdivision {
        code: "US-ND",
        name: "North Dakota",
    },
    Subdivision {
        code: "US-NE",
        name: "Nebraska",
    },
    Subdivision {
        code: "US-NH",
        name: "New Hampshire",
    },
    Subdivision {
        code: "US-NJ",
        name: "New Jersey",
    },
    Subdivision {
        code: "US-NM",
        name: "New Mexico",
    },
    Subdivision {
        code: "US-NV",
        name: "Nevada",
    },
    Subdivision {
        code: "US-NY",
        name: "New York",
    },
    Subdivision {
        code: "US-OH",
        name: "Ohio",
    },
    Subdivision {
        code: "US-OK",
        name: "Oklahoma",
    },
    Subdivision {
        code: "US-OR",
        name: "Oregon",
    },
    Subdivision {
        code: "US-PA",
        name: "Pennsylvania",
    },
    Subdivision {
        code: "US-PR",
        name: "Puerto Rico",
    },
    Subdivision {
        code: "US-RI",
        name: "Rhode Island",
    },
    Subdivision {
        code: "US-SC",
        name: "South Carolina",
    },
    Subdivision {
        code: "US-SD",
        name: "South Dakota",
    },
    Subdivision {
        code: "US-TN",
        name: "Tennessee",
    },
    Subdivision {
        code: "US-TX",
        name: "Texas",
    },
    Subdivision {
        code: "US-UM",
        name: "United States Minor Outlying Islands",
    },
    Subdivision {
        code: "US-UT",
        name: "Utah",
    },
    Subdivision {
        code: "US-VA",
        name: "Virginia",
    },
    Subdivision {
        code: "US-VI",
        name: "Virgin Islands, U.S.",
    },
    Subdivision {
        code: "US-VT",
        name: "Vermont",
    },
    Subdivision {
        code: "US-WA",
        name: "Washington",
    },
    Subdivision {
        code: "US-WI",
        name: "Wisconsin",
    },
    Subdivision {
        code: "US-WV",
        name: "West Virginia",
    },
    Subdivision {
        code: "US-WY",
        name: "Wyoming",
    },
];

/// The ISO 3166-2 subdivisions of Canada: 10 provinces and 3 territories, sorted by code.
pub static CA_SUBDIVISIONS: [Subdivision; 13] = [
    Subdivision {
        code: "CA-AB",
        name: "Alberta",
    },
    Subdivision {
        code: "CA-BC",
        name: "British Columbia",
    },
    Subdivision {
        code: "CA-MB",
        name: "Manitoba",
    },
    Subdivision {
        code: "CA-NB",
        name: "New Brunswick",
    },
    Subdivision {
        code: "CA-NL",
        name: "Newfoundland and Labrador",
    },
    Subdivision {
        code: "CA-NS",
        name: "Nova Scotia",
    },
    Subdivision {
        code: "CA-NT",
        name: "Northwest Territories",
    },
    Subdivision {
        code: "CA-NU",
        name: "Nunavut",
    },
    Subdivision {
        code: "CA-ON",
        name: "Ontario",
    },
    Subdivision {
        code: "CA-PE",
        name: "Prince Edward Island",
    },
    Subdivision {
        code: "CA-QC",
        name: "Quebec",
    },
    Subdivision {
        code: "CA-SK",
        name: "Saskatchewan",
    },
    Subdivision {
        code: "CA-YT",
        name: "Yukon",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_by_code_and_well_formed() {
        assert_eq!(COUNTRIES.len(), 249);
        assert!(COUNTRIES.windows(2).all(|w| w[0].code < w[1].code));
        assert!(
            COUNTRIES
                .iter()
                .all(|c| c.code.len() == 2 && c.code.chars().all(|ch| ch.is_ascii_uppercase()))
        );
        for (prefix, list) in [("US-", &US_SUBDIVISIONS[..]), ("CA-", &CA_SUBDIVISIONS[..])] {
            assert!(list.windows(2).all(|w| w[0].code < w[1].code));
            assert!(list.iter().all(|s| s.code.starts_with(prefix)));
        }
        assert_eq!(US_SUBDIVISIONS.len(), 57);
        assert_eq!(CA_SUBDIVISIONS.len(), 13);
    }

    #[test]
    fn lookups() {
        let table: &[(&str, Option<&str>)] = &[
            ("US", Some("United States")),
            ("JP", Some("Japan")),
            ("BO", Some("Bolivia")),
            ("TW", Some("Taiwan")),
            ("us", None),
            ("XX", None),
            ("United States", None),
        ];
        for (code, name) in table {
            assert_eq!(country(code).map(Country::display_name), *name, "{code}");
        }
        assert_eq!(subdivision("US-MA").map(|s| s.name), Some("Massachusetts"));
        assert_eq!(
            subdivision("US-DC").map(|s| s.name),
            Some("District of Columbia")
        );
        assert_eq!(subdivision("US-PR").map(|s| s.name), Some("Puerto Rico"));
        assert_eq!(subdivision("CA-QC").map(|s| s.name), Some("Quebec"));
        assert_eq!(subdivision("US-XX"), None);
        assert_eq!(subdivision("MA"), None);
        assert_eq!(subdivision("JP-13"), None);
        assert!(subdivisions("JP").is_empty());
    }

    #[test]
    fn integrations_s49_country_listing() {
        let list = country_listing();
        assert_eq!(list.len(), 249);
        let us = list.iter().find(|c| c.code == "US").unwrap();
        assert_eq!(us.name, "United States");
        assert!(us.states.len() > 50);
        assert!(us.states.contains(&Subdivision {
            code: "US-MA",
            name: "Massachusetts"
        }));
        assert!(us.states.windows(2).all(|w| w[0].name <= w[1].name));
        assert_eq!(us.states.first().map(|s| s.name), Some("Alabama"));
        let ca = list.iter().find(|c| c.code == "CA").unwrap();
        assert_eq!(ca.states.len(), 13);
        let jp = list.iter().find(|c| c.code == "JP").unwrap();
        assert!(jp.states.is_empty());
        // Ordered by ISO short name, code-point order: Afghanistan first, Åland Islands last;
        // Bolivia sorts as "Bolivia, Plurinational State of" but is shown as "Bolivia".
        assert_eq!(list.first().map(|c| c.code), Some("AF"));
        assert_eq!(list.last().map(|c| c.code), Some("AX"));
        let bo = list.iter().position(|c| c.code == "BO").unwrap();
        assert_eq!(list[bo].name, "Bolivia");
        assert_eq!(list[bo + 1].code, "BQ"); // "Bonaire, Sint Eustatius and Saba"
    }
}
