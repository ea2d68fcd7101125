//! hakeeper: one binary for the supervisor, its children (by hidden role) and the CLI verbs.

mod check_cmd;
mod child;
mod cli;
mod ctl_client;
mod ctl_server;
mod daemon;
mod demo;
mod generate;
mod import_cmd;
mod listeners;
mod outbox;
mod policy;
mod privileges;
mod roff;
mod run_cmd;
mod sd_notify;
mod signals;
mod spawn;
mod supervisor;
mod upgrade;
mod watchdog;

use clap::Parser;
use cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    // A child the supervisor started (`hakeeper: worker`), not a command line.
    if let Some((role, args)) = child::invoked_as() {
        return if role == demo::BACKENDS_ROLE { demo::backends_main(args.first().map_or("", String::as_str)) } else { child::main(&role) };
    }
    if let Some(dir) = generate::invoked() {
        return generate::main(&dir);
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config, localpeer, host } => check_cmd::main(&config, localpeer.as_deref(), host),
        Command::Run { config, localpeer, foreground, pidfile } => {
            run_cmd::main(supervisor::ConfigSource::File(config, localpeer), foreground, pidfile.as_deref())
        }
        Command::Import { haproxy, keepalived, output, strict, allow_lossy, lvs_as_proxy } => import_cmd::main(
            haproxy.as_deref(),
            keepalived.as_deref(),
            output.as_deref(),
            import_cmd::Policy { strict, allow_lossy },
            &hakeeper_common::import::ImportOptions { lvs_as_proxy },
        ),
        Command::Demo => demo::main(),
        Command::Ctl { socket, config, json, command } => ctl_client::main(socket.as_deref(), config.as_deref(), json, &command),
    }
}
