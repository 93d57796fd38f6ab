//! A browser tab for dashboard tests: keeps cookies, does not follow redirects.

use std::collections::BTreeMap;

use dcr_testkit::*;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};

pub const PASSWORD: &str = "correct horse battery";

pub async fn user(
    app: &TestApp,
    pid: &str,
    email: &str,
    role: &str,
    channel: Option<&str>,
) -> Value {
    let mut body = json!({"email": email, "password": PASSWORD, "role": role});
    if let Some(c) = channel {
        body["channel"] = json!(c);
    }
    let (s, v) = app
        .admin_post(&format!("/programmers/{pid}/users"), body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

/// A cookie-keeping client that does not follow redirects, like a browser tab.
pub struct Tab {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: BTreeMap<String, String>,
}

impl Tab {
    pub fn new(app: &TestApp) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.base.clone(),
            cookies: BTreeMap::new(),
        }
    }

    fn keep(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all(SET_COOKIE) {
            let text = v.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (k, v) = pair.split_once('=').unwrap();
            assert!(attributes.contains("HttpOnly"), "{text}");
            assert!(attributes.contains("SameSite=Strict"), "{text}");
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(&r);
        (r.status(), r.text().await.unwrap())
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(&r);
        r
    }

    /// Signs in through the form; returns the final response of the POST.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> reqwest::Response {
        let (s, page) = self.get("/dashboard/login").await;
        assert_eq!(s, StatusCode::OK);
        let csrf = hidden_csrf(&page);
        self.post(
            "/dashboard/login",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }
}

pub fn hidden_csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    page[at..].split('"').next().unwrap().to_owned()
}
