//! Offline subcommands of the binary, the counterparts of `amtool check-config`,
//! `amtool config routes` and `amtool template render`.

pub mod check_config;
pub mod routes;
pub mod template_render;
