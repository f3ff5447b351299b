//! The ports implemented on AWS ([`aws`]) and on the local machine ([`local`]).

pub mod aws;
pub mod local;
