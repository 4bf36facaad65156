//! Forms: an HTML form posted as `application/x-www-form-urlencoded`, read with typed getters, and an
//! upload posted as `multipart/form-data`, its file streamed to disk part by part within the configured
//! limits.
//!
//! `cargo run --example forms`, then open http://localhost:5000/.
//!
//! - `POST /profile` reads `name` (required) and `age` (a number): a missing or malformed value is `400`.
//! - `POST /upload` saves each file of the form under the system's temporary directory, with a name of
//!   the server's choosing (never the client's file name, which is only reported), and answers what it
//!   saved. A file over 1 MiB, a text field over 1 KiB or more than 8 parts is `413`, and a file being
//!   saved when that happens is removed.

use std::sync::atomic::{AtomicU64, Ordering};

use sisk::prelude::*;

static NEXT_UPLOAD: AtomicU64 = AtomicU64::new(1);

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>sisk — forms</title></head>
<body>
  <h1>Forms</h1>
  <form method="post" action="/profile">
    <input name="name" placeholder="name" required>
    <input name="age" type="number" placeholder="age" required>
    <button>Send the profile</button>
  </form>
  <form method="post" action="/upload" enctype="multipart/form-data">
    <input name="title" placeholder="title">
    <input name="file" type="file" required>
    <button>Upload</button>
  </form>
</body>
</html>
"#;

async fn profile(req: HttpRequest) -> Result<String, sisk::Error> {
    let form = req.get_form_content().await?;
    let name: String = form.require("name")?;
    let age: u8 = form.require("age")?;
    Ok(format!("{name}, {age} years old"))
}

async fn upload(req: HttpRequest) -> Result<String, sisk::Error> {
    let directory = std::env::temp_dir().join("sisk-forms-example");
    tokio::fs::create_dir_all(&directory).await.or_internal_error()?;
    let mut form = req.get_multipart_form_content()?;
    let mut report = Vec::new();
    while let Some(object) = form.next_object().await? {
        let name = object.name().to_owned();
        match object.filename().map(str::to_owned) {
            Some(filename) => {
                let path = directory.join(format!("upload-{}", NEXT_UPLOAD.fetch_add(1, Ordering::Relaxed)));
                let size = object.save_to(&path).await?;
                report.push(format!("{name}: {filename:?}, {size} bytes, saved as {}", path.display()));
            }
            None => report.push(format!("{name} = {:?}", object.text().await?)),
        }
    }
    Ok(report.join("\n"))
}

#[tokio::main]
async fn main() -> Result<(), sisk::Error> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    let mut r = Router::new();
    r += Route::get("/", |_req| async { HttpContent::html(PAGE) });
    r += Route::post("/profile", profile);
    r += Route::post("/upload", upload);

    let app = HttpServer::create_builder()
        .use_listening_port("http://localhost:5000/")
        .use_configuration(|config| {
            config.maximum_content_length = 2 * 1024 * 1024;
            config.maximum_file_size = 1024 * 1024;
            config.maximum_form_field_size = 1024;
            config.maximum_form_fields = 8;
        })
        .use_router(r)
        .build()?;
    app.start().await
}
