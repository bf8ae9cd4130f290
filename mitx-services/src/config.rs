//! Settings from the environment (12-factor). A setting that exists in the original
//! system keeps its original name; new ones are prefixed `MITX_`.

/// One known setting.
#[derive(Clone, Copy, Debug)]
pub struct SettingSpec {
    /// The environment variable.
    pub name: &'static str,
    /// The value used when the variable is unset.
    pub default: &'static str,
    /// Shown redacted.
    pub secret: bool,
    /// What it is for.
    pub description: &'static str,
}

/// Every setting mitx reads so far. docs/configuration.md lists the same table.
pub const SETTINGS: &[SettingSpec] = &[
    SettingSpec {
        name: "DATABASE_URL",
        default: "sqlite://mitx.db",
        secret: false,
        description: "database: sqlite://PATH or postgres://...",
    },
    SettingSpec {
        name: "ENVIRONMENT",
        default: "dev",
        secret: false,
        description: "environment name in order reference numbers (mitxonline-{ENVIRONMENT}-{id})",
    },
    SettingSpec {
        name: "SITE_BASE_URL",
        default: "http://localhost:8000",
        secret: false,
        description: "public base URL of this site",
    },
    SettingSpec {
        name: "OPENEDX_COURSE_BASE_URL",
        default: "http://localhost:18000",
        secret: false,
        description: "base of courseware URLs (/learn/course/{id}/home)",
    },
    SettingSpec {
        name: "CERTIFICATE_CREATION_WINDOW_IN_DAYS",
        default: "31",
        secret: false,
        description: "certificate job looks at runs whose certificate date is within this many days",
    },
    SettingSpec {
        name: "ECOMMERCE_DEFAULT_PAYMENT_GATEWAY",
        default: "CyberSource",
        secret: false,
        description: "payment gateway for checkout",
    },
    SettingSpec {
        name: "ENABLE_MULTIPLE_CART_ITEMS",
        default: "false",
        secret: false,
        description: "allow several products in a basket",
    },
    SettingSpec {
        name: "ANONYMOUS_BASKET_CULL_AGE",
        default: "1209600",
        secret: false,
        description: "seconds after which idle anonymous baskets are deleted",
    },
    SettingSpec {
        name: "MITOL_PAYMENT_GATEWAY_CYBERSOURCE_SECURITY_KEY",
        default: "",
        secret: true,
        description: "CyberSource Secure Acceptance signing key",
    },
    SettingSpec {
        name: "MITOL_APIGATEWAY_DISABLE_MIDDLEWARE",
        default: "true",
        secret: false,
        description: "when true the X-Userinfo header is ignored",
    },
    SettingSpec {
        name: "MITX_BIND",
        default: "127.0.0.1:8000",
        secret: false,
        description: "address `mitx serve` listens on (--bind overrides it)",
    },
    SettingSpec {
        name: "MITX_DISCOUNT_CODES_CSV",
        default: "generated-codes.csv",
        secret: false,
        description: "where `mitx discounts generate` writes its CSV",
    },
];

/// One setting's effective value.
#[derive(Clone, Debug)]
pub struct SettingValue {
    /// The environment variable.
    pub name: &'static str,
    /// The effective value.
    pub value: String,
    /// Whether it came from the environment (else the default).
    pub from_env: bool,
    /// Shown redacted.
    pub secret: bool,
    /// What it is for.
    pub description: &'static str,
}

impl SettingValue {
    /// The value as shown to people: secrets as `***` (or empty when unset).
    pub fn display_value(&self) -> String {
        if self.secret && !self.value.is_empty() {
            "***".into()
        } else {
            self.value.clone()
        }
    }
}

/// The effective settings.
#[derive(Clone, Debug)]
pub struct Settings {
    values: Vec<SettingValue>,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Settings {
        Settings::from_env_with(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (tests pass a map).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Settings {
        let values = SETTINGS
            .iter()
            .map(|spec| {
                let found = lookup(spec.name);
                SettingValue {
                    name: spec.name,
                    from_env: found.is_some(),
                    value: found.unwrap_or_else(|| spec.default.to_owned()),
                    secret: spec.secret,
                    description: spec.description,
                }
            })
            .collect();
        Settings { values }
    }

    /// Every setting, in the documented order.
    pub fn entries(&self) -> Vec<SettingValue> {
        self.values.clone()
    }

    /// The value of one setting.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_environment_and_redaction() {
        let settings = Settings::from_env_with(|name| match name {
            "ENVIRONMENT" => Some("prod".into()),
            "MITOL_PAYMENT_GATEWAY_CYBERSOURCE_SECURITY_KEY" => Some("k".into()),
            _ => None,
        });
        assert_eq!(settings.get("ENVIRONMENT"), Some("prod"));
        assert_eq!(settings.get("DATABASE_URL"), Some("sqlite://mitx.db"));
        let key = settings
            .entries()
            .into_iter()
            .find(|e| e.name == "MITOL_PAYMENT_GATEWAY_CYBERSOURCE_SECURITY_KEY")
            .unwrap();
        assert_eq!(key.display_value(), "***");
    }
}
