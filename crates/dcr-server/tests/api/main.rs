//! Integration tests: the real router on a random loopback port, a fresh database per
//! test. `TEST_LOG=1` shows the server's logs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod attestation;
mod attested_installs;
mod bad_input;
mod binding;
mod console;
mod console_binding;
mod flow;
mod front_door;
mod hostile;
mod isolation;
mod keys;
mod lifecycle;
mod limits;
mod management;
mod management_rfc7592;
mod metrics;
mod openapi;
mod parameters;
mod resource;
mod standards;
mod tab;
mod tenants;
mod throttle;
mod verify;
