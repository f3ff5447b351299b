//! `ipcam`: the IPCam AI Retrofit pipeline on one machine.

mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "ipcam",
    version,
    about = "Give cheap IP cameras a brain: alert only on what matters."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the pictures found in a camera e-mail, and the parts skipped.
    Extract {
        /// The e-mail, as a raw MIME file (.eml).
        file: PathBuf,
        /// Print one JSON object instead of a readable list.
        #[arg(long)]
        json: bool,
        /// Write the pictures to this folder.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Take the `[extract]` settings (frame cap, pixel budget, message
        /// size) from this configuration file instead of the defaults.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Work with the configuration file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check a configuration file; errors name the line and the key.
    Check { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Extract {
            file,
            json,
            out,
            config,
        } => commands::extract(&file, json, out.as_deref(), config.as_deref()),
        Command::Config {
            command: ConfigCommand::Check { file },
        } => commands::config_check(&file),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ipcam: {err:#}");
            ExitCode::FAILURE
        }
    }
}
