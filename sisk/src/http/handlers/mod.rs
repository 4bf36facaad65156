//! Server handlers (Sisk's `Sisk.Core.Http.Handlers`): an [`HttpServerHandler`] is code of the program
//! that the server calls when it starts and stops, when its router is set up, when each request opens
//! and closes, and when a handler fails; [`HttpServerExecutionResult`] is what it is told of a closed
//! request. The access and error logs are server handlers of sisk's own.

mod execution_result;
mod repository;
mod request_close;
mod server_handler;

pub use execution_result::{HttpServerExecutionResult, HttpServerExecutionStatus};
pub(crate) use repository::{HandlerList, ServerHandlers};
pub(crate) use request_close::RequestClose;
pub use server_handler::HttpServerHandler;
