//! The tamper-evident audit log, seen from outside the database: `chain` recomputes a row's
//! hash the way migration V11's trigger computes it and checks a chain row by row (pure);
//! `verify` is `erasure audit verify [<id>]`, which reads the chains from the database
//! (`store::audit_chain`) and reports the first break of each.

pub mod chain;
pub mod verify;
