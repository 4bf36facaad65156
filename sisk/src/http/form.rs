//! `req.get_form_content()`: an `application/x-www-form-urlencoded` body, read into the same collection
//! as the query string.

use crate::http::{HttpRequest, QueryString};
use crate::Error;

/// The media type of a urlencoded form, as browsers send a `<form method="post">`.
const FORM_URLENCODED: &str = "application/x-www-form-urlencoded";

impl HttpRequest {
    /// Reads the body as an HTML form (`application/x-www-form-urlencoded`) into a [`QueryString`]: the
    /// values decoded, in order, repeated names kept, with typed getters (`get_as`, `require`).
    ///
    /// Errors, each with its response: another `Content-Type`, or none, is `415`; more than
    /// [`maximum_form_fields`](crate::http::HttpServerConfiguration::maximum_form_fields) fields is `413`;
    /// the body's own limits apply as in [`body_bytes`](Self::body_bytes). Bytes that are not UTF-8
    /// become U+FFFD.
    ///
    /// ```
    /// use sisk::prelude::*;
    ///
    /// async fn login(req: HttpRequest) -> Result<String, sisk::Error> {
    ///     let form = req.get_form_content().await?;
    ///     let username = form.get("username").unwrap_or_default();
    ///     let remember: bool = form.get_as("remember")?.unwrap_or(false);
    ///     Ok(format!("{username} {remember}"))
    /// }
    /// ```
    pub async fn get_form_content(&self) -> Result<QueryString, Error> {
        self.require_media_type(FORM_URLENCODED, |media_type| media_type == FORM_URLENCODED)?;
        let body = self.body_bytes().await?;
        let maximum = self.server().configuration().maximum_form_fields;
        QueryString::parse_at_most(&body, maximum).ok_or_else(|| Error::too_many_form_fields(maximum))
    }
}
