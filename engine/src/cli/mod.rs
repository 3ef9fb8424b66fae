//! Offline subcommands of the binary, the counterparts of `amtool check-config` and
//! `amtool config routes`.

pub mod check_config;
pub mod routes;
