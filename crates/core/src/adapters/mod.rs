//! The ports implemented on AWS (`aws`, behind the `aws` feature) and on
//! the local machine ([`local`]).

#[cfg(feature = "aws")]
pub mod aws;
pub mod local;
