//! JSON and urlencoded forms end to end, over real sockets: a body read into a type or a form, JSON
//! answered and streamed as Server-Sent Events, and every way a body can be wrong answered with a 4xx that
//! says why (never a 500).

#![cfg(feature = "json")]

mod support;

use serde::{Deserialize, Serialize};
use sisk::prelude::*;
use support::{client, Events, TestServer};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Message {
    author: String,
    text: String,
}

fn json_routes() -> Router {
    let mut r = Router::new();
    r += Route::post("/messages", |req: HttpRequest| async move {
        let message: Message = req.get_json_content().await?;
        Ok((StatusCode::CREATED, Json(Message { text: message.text.to_uppercase(), ..message })))
    });
    r += Route::get("/events", |req: HttpRequest| async move {
        let sse = req.get_event_source(None);
        let message = Message { author: "ana".into(), text: "two\nlines".into() };
        sse.send_json(&message)?;
        sse.send_event(&Event::json(&message)?.event("chat"));
        Ok(sse.close())
    });
    r
}

async fn post_json(server: &TestServer, content_type: Option<&str>, body: &str) -> (u16, String) {
    let mut request = client().post(server.url("/messages")).body(body.to_owned());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let res = request.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn a_json_body_becomes_a_type_and_a_value_becomes_json() {
    let server = TestServer::start(json_routes());
    let res = client()
        .post(server.url("/messages"))
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"author":"ana","text":"olá"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.text().await.unwrap(), r#"{"author":"ana","text":"OLÁ"}"#);
    let (status, _) = post_json(&server, Some("application/vnd.api+json"), r#"{"author":"a","text":"b"}"#).await;
    assert_eq!(status, 201, "a structured +json type is JSON");
}

#[tokio::test]
async fn a_body_that_is_not_json_or_not_the_type_is_400_saying_why() {
    let server = TestServer::start(json_routes());
    let table = [
        (r#"{"author": "ana","#, "not valid JSON: EOF while parsing a value at line 1 column 17"),
        (r#"{"author" "ana"}"#, "not valid JSON: expected `:` at line 1 column 11"),
        ("", "not valid JSON: EOF while parsing a value at line 1 column 0"),
        (r#"{"author":"ana"}"#, "not what this endpoint expects: missing field `text` at line 1 column 16"),
        (r#"{"author":1,"text":"x"}"#, "invalid type: integer `1`, expected a string at line 1 column 11"),
        (r#""ana""#, r#"invalid type: string "ana", expected struct Message at line 1 column 5"#),
    ];
    for (body, expected) in table {
        let (status, text) = post_json(&server, Some("application/json"), body).await;
        assert_eq!(status, 400, "{body:?}: {text}");
        assert!(text.contains(expected), "{body:?}: {text}");
    }
}

#[tokio::test]
async fn a_json_endpoint_refuses_other_media_types_with_415() {
    let server = TestServer::start(json_routes());
    let json = r#"{"author":"a","text":"b"}"#;
    for content_type in [Some("text/plain;charset=UTF-8"), Some("application/x-www-form-urlencoded"), None] {
        let (status, text) = post_json(&server, content_type, json).await;
        assert_eq!(status, 415, "{content_type:?}");
        assert!(text.contains("send `Content-Type: application/json`"), "{text}");
    }
}

#[tokio::test]
async fn a_json_body_over_the_limit_is_413() {
    let server = TestServer::start_with(
        HttpServer::create_builder().use_router(json_routes()).use_configuration(|c| c.maximum_content_length = 64),
    );
    let long = format!(r#"{{"author":"a","text":"{}"}}"#, "x".repeat(100));
    assert_eq!(post_json(&server, Some("application/json"), &long).await.0, 413);
}

#[tokio::test]
async fn json_reaches_an_event_source_on_one_data_line() {
    let server = TestServer::start(json_routes());
    let mut events = Events::new(support::open_events(&server.url("/events")).await);
    let expected = r#"{"author":"ana","text":"two\nlines"}"#;
    let first = events.next().await.expect("the message");
    assert_eq!((first.event.as_str(), first.data.as_str()), ("message", expected));
    let second = events.next().await.expect("the named event");
    assert_eq!((second.event.as_str(), second.data.as_str()), ("chat", expected));
    let parsed: Message = serde_json::from_str(&second.data).unwrap();
    assert_eq!(parsed.text, "two\nlines");
}

fn form_routes() -> Router {
    let mut r = Router::new();
    r += Route::post("/profile", |req: HttpRequest| async move {
        let form = req.get_form_content().await?;
        let name: String = form.require("name")?;
        let age: u8 = form.require("age")?;
        let tags: Vec<&str> = form.get_all("tag").collect();
        let newsletter = form.get_as::<bool>("newsletter")?.unwrap_or(false);
        Ok(format!("{name}|{age}|{tags:?}|{newsletter}"))
    });
    r += Route::any("/has-contents", |req: HttpRequest| async move { format!("{}", req.has_contents()) });
    r
}

async fn post_form(server: &TestServer, content_type: &str, body: &str) -> (u16, String) {
    let res =
        client().post(server.url("/profile")).header("content-type", content_type).body(body.to_owned()).send().await;
    let res = res.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn a_urlencoded_form_is_read_with_typed_getters() {
    let server = TestServer::start_with(
        HttpServer::create_builder().use_router(form_routes()).use_configuration(|c| c.maximum_form_fields = 5),
    );
    let form = "application/x-www-form-urlencoded";
    let table = [
        ("name=Ana+Maria&age=31&tag=a&tag=b%20c&newsletter=true", 200, r#"Ana Maria|31|["a", "b c"]|true"#),
        ("age=31&name=%C3%A9", 200, "é|31|[]|false"),
        ("name=Ana", 400, "`age` is required, and the request has no value for it"),
        ("name=Ana&age=old", 400, "the value of `age` is not u8: invalid digit found in string"),
        ("name=Ana&age=300", 400, "the value of `age` is not u8: number too large"),
        ("name=Ana&age=1&newsletter=yes", 400, "the value of `newsletter` is not bool"),
        ("a=1&b=2&c=3&d=4&e=5&f=6", 413, "maximum_form_fields"),
    ];
    for (body, status, expected) in table {
        let (got_status, text) = post_form(&server, form, body).await;
        assert_eq!(got_status, status, "{body:?}: {text}");
        assert!(text.contains(expected), "{body:?}: {text}");
    }
    let (status, text) = post_form(&server, "text/plain", "name=Ana&age=1").await;
    assert_eq!(status, 415);
    assert!(text.contains("application/x-www-form-urlencoded"), "{text}");
}

#[tokio::test]
async fn has_contents_tells_a_request_with_a_body() {
    let server = TestServer::start(form_routes());
    let get = client().get(server.url("/has-contents")).send().await.unwrap();
    assert_eq!(get.text().await.unwrap(), "false");
    let empty = client().post(server.url("/has-contents")).body("").send().await.unwrap();
    assert_eq!(empty.text().await.unwrap(), "false");
    let full = client().post(server.url("/has-contents")).body("x").send().await.unwrap();
    assert_eq!(full.text().await.unwrap(), "true");
}
