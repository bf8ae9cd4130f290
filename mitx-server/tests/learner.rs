//! A signed-in learner talking to the test server through the gateway header, and the demo
//! catalog loader the learner tests share.

use chrono::Utc;
use mitx_core::ids::UserId;
use mitx_services::testing::TestDb;
use serde_json::Value;

use crate::auth::userinfo;

/// Imports the demo catalog.
pub async fn load_demo(db: &TestDb) {
    let data = serde_json::from_str(include_str!("../../fixtures/demo/catalog.json")).unwrap();
    tx!(db.store, t => t.import_catalog(&data, Utc::now()).await).unwrap();
}

/// A learner: the claims' `X-Userinfo` header on every request; redirects are not followed.
pub struct Learner {
    pub client: reqwest::Client,
    pub base: String,
    pub header: String,
}

impl Learner {
    pub fn new(base: &str, claims: &Value) -> Learner {
        Learner {
            client: crate::client_builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            header: userinfo(claims),
        }
    }

    pub async fn id(&self) -> UserId {
        let (_, body) = self.get("/api/v0/users/me").await;
        UserId(body["id"].as_i64().expect("signed in"))
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request
            .header("X-Userinfo", &self.header)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)).json(body))
            .await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(self.client.patch(format!("{}{path}", self.base)).json(body))
            .await
    }

    /// DELETE; the body is JSON, or the text (`""` for 204) as a JSON string.
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(self.client.delete(format!("{}{path}", self.base)))
            .await
    }

    /// An HTML form POST; the raw response.
    pub async fn form(&self, path: &str, body: &str, referer: Option<&str>) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("X-Userinfo", &self.header)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        // A browser posting the site's own form says where from (the CSRF check).
        request = request.header("origin", &self.base);
        if let Some(referer) = referer {
            request = request.header("referer", referer);
        }
        request.send().await.unwrap()
    }
}
