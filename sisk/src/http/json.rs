//! JSON in and out, with the `json` feature (on by default): the request's
//! [`get_json_content`](HttpRequest::get_json_content), [`Json`] as a response (Sisk's `JsonContent`),
//! and JSON as the data of a Server-Sent Event ([`Event::json`], `sse.send_json`).

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::http::streams::{Event, HttpRequestEventSource, LocalEventSource, RemoteEventSource};
use crate::http::{HttpContent, HttpRequest, HttpResponse, IntoResponse};
use crate::Error;

/// `value` as compact JSON (one line: line breaks inside strings are escaped); a `Serialize` that fails
/// (a map with keys that are not strings, say) is an internal error, answered `500`.
fn to_json(value: &(impl Serialize + ?Sized)) -> Result<String, Error> {
    serde_json::to_string(value).map_err(Error::internal)
}

/// `application/json`, or a structured `+json` type (`application/problem+json`, …).
fn is_json(media_type: &str) -> bool {
    media_type == "application/json" || (media_type.starts_with("application/") && media_type.ends_with("+json"))
}

impl HttpRequest {
    /// Reads the body as JSON into a `T` (Sisk's `GetJsonContent<T>`), within the body's limits (see
    /// [`body_bytes`](Self::body_bytes)).
    ///
    /// Errors, each with its response, so `?` answers the client well:
    /// - a `Content-Type` other than `application/json` (or a `+json` type), or none, is `415`: a browser
    ///   sends a cross-origin `text/plain` or form body without asking first, so a JSON endpoint that took
    ///   those would be open to cross-site requests; `fetch` must say
    ///   `headers: { "Content-Type": "application/json" }`;
    /// - a body that is not JSON is `400`, saying where (`expected value at line 1 column 2`);
    /// - JSON that is not a `T` is `400`, saying what was expected
    ///   (``missing field `name` at line 1 column 13``).
    ///
    /// ```
    /// use serde::Deserialize;
    /// use sisk::prelude::*;
    ///
    /// #[derive(Deserialize)]
    /// struct Message {
    ///     author: String,
    ///     text: String,
    /// }
    ///
    /// async fn post_message(req: HttpRequest) -> Result<String, sisk::Error> {
    ///     let message: Message = req.get_json_content().await?;
    ///     Ok(format!("{}: {}", message.author, message.text))
    /// }
    /// ```
    pub async fn get_json_content<T: DeserializeOwned>(&self) -> Result<T, Error> {
        self.require_media_type("application/json", is_json)?;
        let body = self.body_bytes().await?;
        serde_json::from_slice(&body).map_err(Error::invalid_json)
    }
}

/// A response of any `Serialize` value as `application/json` (Sisk's `JsonContent`): return it from an
/// action, alone or with a status.
///
/// ```
/// use serde::Serialize;
/// use sisk::prelude::*;
///
/// #[derive(Serialize)]
/// struct User {
///     id: u32,
///     name: String,
/// }
///
/// async fn create(_req: HttpRequest) -> (StatusCode, Json<User>) {
///     (StatusCode::CREATED, Json(User { id: 1, name: "Ana".into() }))
/// }
///
/// let res = Json(User { id: 1, name: "Ana".into() }).into_response();
/// assert_eq!(res.headers["content-type"], "application/json");
/// assert_eq!(res.content(), Some(&br#"{"id":1,"name":"Ana"}"#[..]));
/// ```
///
/// A value that fails to serialise (a map whose keys are not strings) answers `500`, its cause logged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> HttpResponse {
        match to_json(&self.0) {
            Ok(json) => HttpResponse::new().with_content(HttpContent::json(json)),
            Err(err) => err.into_response(),
        }
    }
}

impl Event {
    /// An event whose data is `value` as JSON, on one `data:` line; set its name, id or retry as usual.
    /// On the client, `JSON.parse(e.data)` gives the value back.
    ///
    /// ```
    /// use sisk::http::streams::Event;
    ///
    /// #[derive(serde::Serialize)]
    /// struct Chat<'a> { author: &'a str, text: &'a str }
    ///
    /// let event = Event::json(&Chat { author: "ana", text: "a\nb" }).unwrap().event("chat");
    /// assert_eq!(&event.encode()[..], b"event: chat\ndata: {\"author\":\"ana\",\"text\":\"a\\nb\"}\n\n");
    /// ```
    pub fn json(value: &(impl Serialize + ?Sized)) -> Result<Event, Error> {
        Ok(Event::new().data(to_json(value)?))
    }
}

/// `send_json` on each kind of event-source handle: `value` as JSON, as one event (`send_event` of its
/// JSON text). `Ok(false)` as `send`'s `false`; an error when `value` cannot be serialised.
macro_rules! send_json {
    ($($handle:ty),*) => {$(
        impl $handle {
            /// Sends `value` as JSON, as one event ([`send`](Self::send) of its JSON text). `Ok(false)` as
            /// `send`'s `false`; an error when `value` cannot be serialised.
            pub fn send_json(&self, value: &(impl Serialize + ?Sized)) -> Result<bool, Error> {
                Ok(self.send_event(&Event::json(value)?))
            }
        }
    )*};
}

send_json!(LocalEventSource, RemoteEventSource, HttpRequestEventSource);
