//! The contract test: responses produced against the demo data are validated against the
//! response schema of the same path in shared/reference/mitxonline-openapi.yaml, the
//! contract existing clients use. The reference lives beside the checkout (`../shared`);
//! where it is absent the test reports itself skipped.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

/// Where the reference contract is, if present.
pub fn reference_path() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference/mitxonline-openapi.yaml");
    path.exists().then_some(path)
}

/// OpenAPI 3.0 schema → JSON Schema: `nullable: true` becomes a union with null, and
/// `$ref`s keep pointing at `#/components/schemas/...` (the components are embedded at
/// the root of every compiled schema).
fn convert(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                if k == "nullable" || k == "example" || k == "readOnly" || k == "writeOnly" {
                    continue;
                }
                out.insert(k.clone(), convert(v));
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                let inner = Value::Object(out);
                return json!({ "anyOf": [inner, { "type": "null" }] });
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(convert).collect()),
        other => other.clone(),
    }
}

/// The loaded contract.
pub struct Contract {
    doc: Value,
    components: Value,
}

impl Contract {
    /// Loads the YAML.
    pub fn load(path: &PathBuf) -> Contract {
        let text = std::fs::read_to_string(path).expect("read contract");
        let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("parse contract YAML");
        let doc: Value = serde_json::to_value(yaml).expect("contract as JSON");
        let components = convert(&doc["components"]);
        Contract { doc, components }
    }

    /// Validates `body` against the response schema of `path_template` / `method` / `status`.
    /// Returns the list of violations (empty = valid).
    pub fn check(
        &self,
        path_template: &str,
        method: &str,
        status: u16,
        body: &Value,
    ) -> Vec<String> {
        let operation = &self.doc["paths"][path_template][method];
        assert!(
            !operation.is_null(),
            "{method} {path_template} is not in the reference contract"
        );
        let response = &operation["responses"][status.to_string()];
        assert!(
            !response.is_null(),
            "{method} {path_template} has no {status} response in the contract"
        );
        let Some(schema) = response["content"]["application/json"]["schema"].as_object() else {
            return Vec::new();
        };
        let mut schema = convert(&Value::Object(schema.clone()));
        if let Value::Object(map) = &mut schema {
            map.insert("components".into(), self.components.clone());
        }
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .build(&schema)
            .expect("compile response schema");
        validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }
}

#[test]
fn the_converter_handles_nullable_and_refs() {
    let converted = convert(&json!({"type": "string", "nullable": true}));
    assert_eq!(
        converted,
        json!({"anyOf": [{"type": "string"}, {"type": "null"}]})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_outside_the_contract_but_the_contract_loads() {
    let Some(path) = reference_path() else {
        eprintln!("skipped: shared/reference/mitxonline-openapi.yaml is not beside this checkout");
        return;
    };
    let contract = Contract::load(&path);
    assert!(contract.doc["paths"]["/api/v2/courses/"]["get"].is_object());
}

#[test]
fn the_validator_accepts_a_good_page_and_rejects_a_bad_one() {
    let Some(path) = reference_path() else {
        eprintln!("skipped: shared/reference/mitxonline-openapi.yaml is not beside this checkout");
        return;
    };
    let contract = Contract::load(&path);
    let good = json!({"count": 0, "next": null, "previous": null, "results": []});
    assert_eq!(
        contract.check("/api/v2/courses/", "get", 200, &good),
        Vec::<String>::new()
    );
    let bad = json!({"count": "many", "next": null, "previous": null, "results": [{"id": "x"}]});
    assert!(
        !contract
            .check("/api/v2/courses/", "get", 200, &bad)
            .is_empty()
    );
}
