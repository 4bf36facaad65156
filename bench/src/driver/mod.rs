//! The `compare` run: start each server binary as its own process, measure it with the light clients of
//! [`crate::client`], and print the results as markdown tables with ratios to the peers.
//!
//! Split by measurement: [`servers`] starts and stops the processes, [`hello`] measures `GET /hello`,
//! [`fanout`] opens identified streams and broadcasts to them (delivery latency, losses, CPU per event,
//! memory per stream, connect rate), [`floor`] measures what the kernel alone charges for one event's
//! write, [`instructions`] counts instructions under callgrind (repeatable on a shared machine),
//! [`collection`] reads the criterion results of `benches/collection.rs`, and [`report`] prints.
//! [`websockets`] is the `ws-compare` run's: WebSocket echo and fan-out, sisk beside axum.

pub mod collection;
pub mod fanout;
pub mod floor;
pub mod hello;
pub mod instructions;
pub mod report;
pub mod servers;
pub mod websockets;
