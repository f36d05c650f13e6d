//! Helpers shared by integration tests (`mod common;`); each test crate uses
//! the parts it needs.
#![allow(dead_code)]

pub mod pg;
